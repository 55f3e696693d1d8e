"""Submitting, cancelling, waiting for and following executions: what the
resolvers and the REST endpoint call. The worker may live in this process
(embedded mode) or elsewhere; only the database and the bus connect them."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tortoise.transactions import in_transaction

from core.errors import BadUserInput, NotFound, RateLimited
from core.settings import Settings
from core.statuses import ExecutionStatus
from models.batches import Batch
from models.executions import Execution
from models.files import StoredFile
from models.tree import Script
from models.users import User
from services.access import get_visible
from services.events import (
    SEQ_QUEUED,
    EventBusUnavailable,
    ExecutionEvent,
    ExecutionEventBus,
    Stream,
)
from services.execution_output import persisted_output
from services.files import run_file_names

if TYPE_CHECKING:
    # The worker of this process, when it runs one (see roles/).
    from worker.loop import Worker

log = logging.getLogger(__name__)

# How long `wait` may take beyond the execution's own timeout, for time spent
# queued and starting.
WAIT_GRACE_SECONDS = 30.0
MAX_BATCH_CONCURRENCY = 64
DB_POLL_SECONDS = 0.5


def encode_input(value: Any, max_bytes: int) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadUserInput(f"The input is not valid JSON: {exc}") from None
    size = len(text.encode())
    if size > max_bytes:
        raise BadUserInput(
            f"The input is {size} bytes; at most {max_bytes} are allowed.", maxBytes=max_bytes
        )
    return text


class ExecutionService:
    def __init__(self, settings: Settings, bus: ExecutionEventBus, worker: Worker | None) -> None:
        self._settings = settings
        self._bus = bus
        self._worker = worker

    async def get(self, user: User, execution_id: str | uuid.UUID) -> Execution:
        row = await get_visible(Execution, user, execution_id, "Execution")
        if row.status is ExecutionStatus.RUNNING and self.live_output(str(row.id)) is None:
            # Running in another process: what it printed so far is in its
            # output batches (up to one interval behind), not yet in the row.
            persisted = await persisted_output(str(row.id))
            row.stdout, row.stderr = persisted.stdout, persisted.stderr
        return row

    async def submit(
        self,
        user: User,
        script: Script,
        input_value: Any,
        timeout_seconds: float | None,
        files: list[str] | None = None,
        schedule_id: str | None = None,
    ) -> Execution:
        input_json = encode_input(input_value, self._settings.max_input_bytes)
        timeout = self._checked_timeout(timeout_seconds)
        file_keys = await self._checked_files(script.owner_id, files or [])
        if schedule_id is None:
            # Running ones count too: otherwise the worker's slots are a free
            # allowance on top of the limit.
            pending = await Execution.filter(
                owner_id=user.id,
                status__in=[ExecutionStatus.QUEUED, ExecutionStatus.RUNNING],
                batch_id=None,
            ).count()
            if pending >= self._settings.max_queued_per_user:
                raise RateLimited(
                    f"You have {pending} executions queued or running; wait for some to finish.",
                    maxQueued=self._settings.max_queued_per_user,
                )
        row = await Execution.create(
            owner_id=script.owner_id,
            script_id=script.id,
            script_version=script.version,
            status=ExecutionStatus.QUEUED,
            input_json=input_json,
            timeout_seconds=timeout,
            input_files=file_keys,
            schedule_id=schedule_id,
        )
        await self.announce([row])
        return row

    async def submit_batch(
        self, user: User, script: Script, inputs: list[Any], concurrency: int
    ) -> Batch:
        limit = self._settings.max_batch_size
        if not 1 <= len(inputs) <= limit:
            raise BadUserInput(f"A batch takes 1 to {limit} inputs; this one has {len(inputs)}.")
        if not 1 <= concurrency <= MAX_BATCH_CONCURRENCY:
            raise BadUserInput(f"`concurrency` must be between 1 and {MAX_BATCH_CONCURRENCY}.")
        encoded = [encode_input(value, self._settings.max_input_bytes) for value in inputs]
        waiting = await Execution.filter(
            owner_id=script.owner_id, status=ExecutionStatus.QUEUED, batch_id__not_isnull=True
        ).count()
        if waiting + len(inputs) > limit:
            raise RateLimited(
                f"You have {waiting} batch executions waiting; at most {limit} may wait at once."
            )
        timeout = self._settings.default_timeout_seconds
        async with in_transaction():
            batch = await Batch.create(
                owner_id=script.owner_id,
                script_id=script.id,
                concurrency=concurrency,
                size=len(inputs),
            )
            rows = [
                Execution(
                    id=uuid.uuid4(),
                    owner_id=script.owner_id,
                    script_id=script.id,
                    script_version=script.version,
                    status=ExecutionStatus.QUEUED,
                    input_json=text,
                    timeout_seconds=timeout,
                    batch_id=batch.id,
                    queued_at=datetime.now(UTC),
                )
                for text in encoded
            ]
            await Execution.bulk_create(rows)
        await self.announce(rows)
        return batch

    async def cancel_batch(self, user: User, batch: Batch) -> None:
        pending = await Execution.filter(
            batch_id=batch.id, status__in=[ExecutionStatus.QUEUED, ExecutionStatus.RUNNING]
        ).values_list("id", flat=True)
        for execution_id in pending:
            await self.cancel(user, str(execution_id), wait=False)

    async def announce(self, rows: list[Execution]) -> None:
        """Record each script's last run, and tell subscribers and the worker
        that these rows are queued."""
        last_by_script = {str(row.script_id): row.id for row in rows}
        for script_id, execution_id in last_by_script.items():
            await Script.filter(id=script_id).update(last_execution_id=execution_id)
        for row in rows:
            self._bus.open(str(row.id))
            await self._bus.publish(
                ExecutionEvent(
                    execution_id=str(row.id),
                    owner_id=str(row.owner_id),
                    seq=SEQ_QUEUED,
                    status=ExecutionStatus.QUEUED,
                    batch_id=str(row.batch_id) if row.batch_id else None,
                )
            )
        if self._worker is not None:
            self._worker.wake()
        await self._bus.notify_queued()

    async def _checked_files(self, owner_id: str, keys: list[str]) -> list[str]:
        if len(keys) > self._settings.max_run_files:
            raise BadUserInput(f"A run may take at most {self._settings.max_run_files} files.")
        if len(set(keys)) != len(keys):
            raise BadUserInput("The same file is given twice.")
        run_file_names(keys)
        sizes: dict[str, int] = {
            str(key): int(size)
            for key, size in await StoredFile.filter(owner_id=owner_id, key__in=keys).values_list(
                "key", "size"
            )
        }
        for key in keys:
            if key not in sizes:
                raise NotFound(f"No file with key '{key}'.")
        # Refused here, before a row is queued, rather than only by the
        # worker (which checks again: a file may be replaced meanwhile).
        cap = self._settings.max_run_files_bytes
        if sum(sizes.values()) > cap:
            raise BadUserInput(f"The files of one run may total at most {cap} bytes.")
        return keys

    async def cancel(self, user: User, execution_id: str, wait: bool = True) -> Execution:
        row = await self.get(user, execution_id)
        if row.status is ExecutionStatus.QUEUED:
            now = datetime.now(UTC)
            cancelled = await Execution.filter(id=row.id, status=ExecutionStatus.QUEUED).update(
                status=ExecutionStatus.CANCELLED,
                error_code="CANCELLED",
                error_message="Cancelled before it started.",
                finished_at=now,
                duration_ms=0,
            )
            if cancelled:
                await self._bus.publish(
                    ExecutionEvent(
                        execution_id=str(row.id),
                        owner_id=str(row.owner_id),
                        seq=SEQ_QUEUED + 1,
                        status=ExecutionStatus.CANCELLED,
                        batch_id=str(row.batch_id) if row.batch_id else None,
                    )
                )
                await row.refresh_from_db()
                return row
            await row.refresh_from_db()
        if row.status is ExecutionStatus.RUNNING:
            await Execution.filter(id=row.id).update(cancel_requested=True)
            if self._worker is not None:
                self._worker.request_cancel(str(row.id))
            if wait:
                await self.wait(row.id, timeout=10.0)
                await row.refresh_from_db()
        return row

    async def wait(self, execution_id: uuid.UUID | str, timeout: float) -> Execution:
        """The row once it is terminal, or as it is when `timeout` runs out."""
        key = str(execution_id)
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            events = await self._bus.subscribe(key)
        except EventBusUnavailable:
            events = None
        if events is not None:
            try:
                async with asyncio.timeout_at(deadline):
                    async for event in events:
                        if event.is_terminal:
                            break
            except TimeoutError:
                pass
            except EventBusUnavailable:
                return await self._poll_until_terminal(key, deadline)
        else:
            return await self._poll_until_terminal(key, deadline)
        return await Execution.get(id=key)

    async def _poll_until_terminal(self, key: str, deadline: float) -> Execution:
        """Without the bus, ask the source of truth until the end or the deadline."""
        while True:
            row = await Execution.get(id=key)
            if row.status.is_terminal or asyncio.get_running_loop().time() >= deadline:
                return row
            await asyncio.sleep(DB_POLL_SECONDS)

    @property
    def default_timeout(self) -> float:
        return self._settings.default_timeout_seconds

    def wait_timeout(self, row: Execution) -> float:
        return row.timeout_seconds + WAIT_GRACE_SECONDS

    async def follow(self, row: Execution) -> AsyncIterator[ExecutionEvent]:
        """Replay, then live events, then the terminal event.

        When the bus has no record of the execution, is unreachable, or goes
        away midway, the rest comes from the database row once it is
        terminal: the output not yet delivered, then the terminal event. A
        subscriber always gets all output and an end."""
        last_seq = -1
        delivered: dict[Stream, int] = {"stdout": 0, "stderr": 0}
        try:
            live = await self._bus.subscribe(str(row.id))
            if live is not None:
                async for event in live:
                    last_seq = event.seq
                    if event.stream is not None:
                        delivered[event.stream] += len(event.data or "")
                    yield event
                return
        except EventBusUnavailable as exc:
            log.warning("event bus unavailable while following %s: %s", row.id, exc)
        if not row.status.is_terminal:
            row = await self.wait(row.id, self.wait_timeout(row))
        seq = max(last_seq, SEQ_QUEUED)
        streams: tuple[tuple[Stream, str], ...] = (("stdout", row.stdout), ("stderr", row.stderr))
        for stream, text in streams:
            rest = text[delivered[stream] :]
            if rest:
                seq += 1
                yield ExecutionEvent(
                    str(row.id), str(row.owner_id), seq, ExecutionStatus.RUNNING, stream, rest
                )
        yield ExecutionEvent(str(row.id), str(row.owner_id), seq + 1, row.status)

    async def follow_owner(self, user: User) -> AsyncIterator[ExecutionEvent]:
        return await self._bus.subscribe_owner(str(user.id))

    async def follow_owner_id(self, owner_id: str) -> AsyncIterator[ExecutionEvent]:
        return await self._bus.subscribe_owner(owner_id)

    def live_output(self, execution_id: str) -> tuple[str, str] | None:
        """Output so far of an execution running in this process."""
        if self._worker is None:
            return None
        running = self._worker.running.get(execution_id)
        if running is None:
            return None
        return running.text("stdout"), running.text("stderr")

    def _checked_timeout(self, timeout_seconds: float | None) -> float:
        if timeout_seconds is None:
            return self._settings.default_timeout_seconds
        if not 0 < timeout_seconds <= self._settings.max_timeout_seconds:
            raise BadUserInput(
                f"timeoutSeconds must be above 0 and at most "
                f"{self._settings.max_timeout_seconds:g}.",
                maxTimeoutSeconds=self._settings.max_timeout_seconds,
            )
        return float(timeout_seconds)
