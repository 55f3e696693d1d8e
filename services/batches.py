"""Batches: one execution per input, at most `concurrency` of them running at
once (the claim skips a batch at its concurrency, see
services/executions/queue.py).

A batch is refused whole or queued whole: its inputs pass the checks every
run passes, and its executions are created with the batch in one
transaction. Waiting batch executions have their own cap (at most
`max_batch_size` at once per caller) instead of the per-user cap of single
runs, which a single batch may exceed by design."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from tortoise.transactions import in_transaction

from core.errors import BadUserInput, RateLimited
from core.retries import RetryPolicy
from core.settings import Settings
from core.statuses import ExecutionStatus
from models.batches import Batch
from models.executions import Execution
from models.tree import Script
from services.access import Caller, get_visible, require_run_script
from services.executions.lifecycle import new_execution
from services.executions.retries import last_attempts
from services.executions.service import ExecutionService
from services.executions.submit import PENDING, encode_input

MAX_BATCH_CONCURRENCY = 64


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
        retry: RetryPolicy | None = None,
    ) -> Batch:
        limit = self._settings.max_batch_size
        if not 1 <= len(inputs) <= limit:
            raise BadUserInput(f"A batch takes 1 to {limit} inputs; this one has {len(inputs)}.")
        if not 1 <= concurrency <= MAX_BATCH_CONCURRENCY:
            raise BadUserInput(f"`concurrency` must be between 1 and {MAX_BATCH_CONCURRENCY}.")
        require_run_script(caller, script)
        encoded = [encode_input(value, self._settings.max_input_bytes) for value in inputs]
        waiting = await Execution.filter(
            owner_id=caller.id, status=ExecutionStatus.QUEUED, batch_id__not_isnull=True
        ).count()
        if waiting + len(inputs) > limit:
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
                size=len(inputs),
            )
            rows = [
                new_execution(caller.id, script, text, timeout, batch_id=batch.id, retry=retry)
                for text in encoded
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

    async def statuses(self, batch: Batch) -> list[ExecutionStatus]:
        """The status of each of its inputs' last attempt, read at once."""
        rows = (
            await Execution.filter(batch_id=batch.id)
            .only("id", "status", "retry_of_id", "attempt")
            .order_by("queued_at", "id")
        )
        return [row.status for row in last_attempts(rows)]

    async def executions_of(self, batch: Batch) -> list[Execution]:
        """In input order; of an input that was retried, its last attempt
        (the earlier ones are its `retryOf` chain)."""
        rows = await Execution.filter(batch_id=batch.id).order_by("queued_at", "id")
        return last_attempts(rows)

    async def changes(self, batch: Batch) -> AsyncIterator[None]:
        """Now, then after each of its executions ends: when to look again."""
        events = await self._executions.follow_owner(batch.owner_id)
        yield None
        async for event in events:
            if event.batch_id == str(batch.id) and event.status.is_terminal:
                yield None
