"""Batches: one execution per input, at most `concurrency` of them running at
once (the claim skips a batch at its concurrency, see
services/executions/queue.py).

A batch is refused whole or queued whole: its inputs pass the checks every
run passes, and its executions are created with the batch in one
transaction. Waiting batch executions have their own cap (at most
`max_batch_size` at once per caller) instead of the per-user cap of single
runs, which a single batch may exceed by design.

A batch may require a worker tag for all its runs, or run one input once on
every live worker carrying a tag (`submit_on_workers`): then each execution
requires its own worker's name, so each runs there and nowhere else."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from core.errors import BadUserInput, NoLiveWorker, RateLimited
from core.retries import RetryPolicy
from core.settings import Settings
from core.statuses import ExecutionStatus
from core.worker_tags import checked_tag, checked_target
from models.batches import Batch
from models.executions import Execution
from models.tree import Script
from services.access import Caller, get_visible, require_run_script
from services.executions.lifecycle import new_execution
from services.executions.retries import last_attempts
from services.executions.service import ExecutionService
from services.executions.submit import PENDING, encode_input
from services.workers import live_workers_with

MAX_BATCH_CONCURRENCY = 64


@dataclass(frozen=True)
class BatchState:
    """A batch's executions at one moment: the status of each input's last
    attempt, in input order, and those rows themselves when they were read."""

    statuses: list[ExecutionStatus]
    rows: list[Execution] | None

    @property
    def finished(self) -> bool:
        return all(status.is_terminal for status in self.statuses)


class BatchService:
    def __init__(self, settings: Settings, executions: ExecutionService) -> None:
        self._settings = settings
        self._executions = executions

    async def get(self, caller: Caller, batch_id: str | uuid.UUID) -> Batch:
        return await get_visible(Batch, caller, batch_id, "Batch")

    async def submit(
        self,
        caller: Caller,
        script: Script,
        inputs: list[Any],
        concurrency: int,
        target: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> Batch:
        limit = self._settings.max_batch_size
        if not 1 <= len(inputs) <= limit:
            raise BadUserInput(f"A batch takes 1 to {limit} inputs; this one has {len(inputs)}.")
        if not 1 <= concurrency <= MAX_BATCH_CONCURRENCY:
            raise BadUserInput(f"`concurrency` must be between 1 and {MAX_BATCH_CONCURRENCY}.")
        require_run_script(caller, script)
        target = checked_target(target)
        encoded = [encode_input(value, self._settings.max_input_bytes) for value in inputs]
        runs = [(text, target) for text in encoded]
        return await self._queue(caller, script, runs, concurrency, target, retry)

    async def submit_on_workers(
        self, caller: Caller, script: Script, input_value: Any, tag: str
    ) -> Batch:
        """One run of `input_value` on each live worker carrying `tag`, all
        at once; NO_LIVE_WORKER when none does (nothing to fan out over)."""
        require_run_script(caller, script)
        tag = checked_tag(tag)
        text = encode_input(input_value, self._settings.max_input_bytes)
        workers = await live_workers_with(self._settings, tag)
        if not workers:
            raise NoLiveWorker(f"No live worker has the tag '{tag}'.", tag=tag)
        limit = self._settings.max_batch_size
        if len(workers) > limit:
            raise BadUserInput(f"A batch takes at most {limit} runs; {len(workers)} workers match.")
        runs = [(text, worker.name) for worker in workers]
        concurrency = min(len(runs), MAX_BATCH_CONCURRENCY)
        return await self._queue(caller, script, runs, concurrency, tag)

    async def _queue(
        self,
        caller: Caller,
        script: Script,
        runs: Sequence[tuple[str, str | None]],
        concurrency: int,
        target: str | None,
        retry: RetryPolicy | None = None,
    ) -> Batch:
        """The batch and one execution per (input JSON, target) of `runs`,
        in one transaction, within the caller's cap of waiting batch runs."""
        limit = self._settings.max_batch_size
        waiting = await Execution.filter(
            owner_id=caller.id, status=ExecutionStatus.QUEUED, batch_id__not_isnull=True
        ).count()
        if waiting + len(runs) > limit:
            raise RateLimited(
                f"You have {waiting} batch executions waiting; at most {limit} may wait at once."
            )
        timeout = self._settings.default_timeout_seconds
        lifecycle = self._executions.lifecycle
        async with in_transaction():
            batch = await Batch.create(
                owner_id=caller.id,
                script_id=script.id,
                concurrency=concurrency,
                size=len(runs),
                target=target,
            )
            rows = [
                new_execution(
                    caller.id,
                    script,
                    text,
                    timeout,
                    batch_id=batch.id,
                    target=run_target,
                    retry=retry,
                )
                for text, run_target in runs
            ]
            await lifecycle.create(rows)
        await lifecycle.announce(rows)
        return batch

    async def cancel(self, caller: Caller, batch: Batch) -> None:
        """Cancel every execution of the batch that has not ended."""
        pending = await Execution.filter(batch_id=batch.id, status__in=PENDING).values_list(
            "id", flat=True
        )
        for execution_id in pending:
            await self._executions.cancel(caller, str(execution_id), wait=False)

    async def state(self, batch: Batch, with_rows: bool = False) -> BatchState:
        """Its inputs' last attempts, read at once: their statuses, and the
        whole rows when `with_rows` (else only the columns a status needs)."""
        query = Execution.filter(batch_id=batch.id).order_by("queued_at", "id")
        if not with_rows:
            query = query.only("id", "status", "retry_of_id", "attempt")
        rows = last_attempts(await query)
        return BatchState([row.status for row in rows], rows if with_rows else None)

    async def changes(self, batch: Batch) -> AsyncIterator[None]:
        """Now, then after each of its executions ends: when to look again."""
        events = await self._executions.follow_owner(batch.owner_id)
        yield None
        async for event in events:
            if event.batch_id == str(batch.id) and event.status.is_terminal:
                yield None
