"""The one writer of an execution's status, and of the events that tell it.

A row is created QUEUED (or FAILED, when a submission nobody waits for was
refused), claimed by a worker (RUNNING), and ended once: by its worker with
the run's outcome, by a cancel before it started, or by the recovery of a
worker that died. Each change is a conditional UPDATE from the status the
writer saw, checked against core/statuses.py's moves, so two writers racing
for one row (a cancel and a claim, a worker and a sweeper) change it once;
only the one that changed it publishes the event.

Event numbers need no shared state: QUEUED is SEQ_QUEUED, RUNNING is
SEQ_RUNNING, output follows (numbered by the worker), the terminal event is
last."""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from core import metrics
from core.codes import ExecutionErrorCode
from core.retries import RetryPolicy
from core.statuses import ExecutionStatus, check_initial, check_move
from core.usage import ResourceUsage
from models.executions import Execution, ExecutionCode
from models.tree import Script
from services.events import SEQ_QUEUED, SEQ_RUNNING, ExecutionEvent, ExecutionEventBus
from services.executions.output import delete_persisted_output, output_so_far
from services.executions.output_archive import OutputArchive
from services.executions.queue import claim_next_execution
from services.executions.retries import next_attempt
from services.executions.status_write import update_where

QUEUED = ExecutionStatus.QUEUED
RUNNING = ExecutionStatus.RUNNING
# The terminal event of a row that never ran: numbered as if it had been
# queued and then ended.
SEQ_ENDED_UNRUN = SEQ_QUEUED + 1


@dataclass(frozen=True)
class Ending:
    """How a run ended, as its row records it (its output comes apart)."""

    status: ExecutionStatus
    error_code: ExecutionErrorCode | None = None
    error_message: str | None = None
    result_json: str | None = None
    exit_code: int | None = None
    output_truncated: bool = False
    rejected_artifacts: tuple[str, ...] = ()
    # None: from the row's start until now.
    duration_ms: int | None = None
    usage: ResourceUsage = ResourceUsage()  # noqa: RUF009 (frozen: one shared default is safe)
    image: str | None = None
    image_id: str | None = None

    @classmethod
    def failed(cls, code: ExecutionErrorCode, message: str) -> Ending:
        return cls(ExecutionStatus.FAILED, code, message)


def new_execution(
    owner_id: str | uuid.UUID,
    script: Script | None,
    input_json: str,
    timeout_seconds: float,
    *,
    input_files: Sequence[str] = (),
    schedule_id: str | uuid.UUID | None = None,
    batch_id: str | uuid.UUID | None = None,
    target: str | None = None,
    refused: tuple[ExecutionErrorCode, str] | None = None,
    retry: RetryPolicy | None = None,
    waits_for_schedule: bool = False,
) -> Execution:
    """A row to create for `owner_id` (who started it): queued, or failed at
    once with `refused`'s code and message (kept, so the refusal is seen where
    the run would have been). `target`: the worker tag it requires. `script`
    None: a run of unsaved code, whose ExecutionCode the caller writes in the
    same transaction."""
    now = datetime.now(UTC)
    row = Execution(
        id=uuid.uuid4(),
        owner_id=owner_id,
        script_id=None if script is None else script.id,
        script_version=None if script is None else script.version,
        status=QUEUED,
        input_json=input_json,
        timeout_seconds=timeout_seconds,
        input_files=list(input_files),
        schedule_id=schedule_id,
        batch_id=batch_id,
        target=target,
        retry=None if retry is None else retry.to_json(),
        waits_for_schedule=waits_for_schedule,
        queued_at=now,
    )
    if refused is not None:
        row.status = ExecutionStatus.FAILED
        row.error_code, row.error_message = refused
        row.finished_at, row.duration_ms = now, 0
    return row


class ExecutionLifecycle:
    def __init__(self, bus: ExecutionEventBus, archive: OutputArchive | None = None) -> None:
        """`archive`: where output too large for a row goes (None: rows)."""
        self._bus = bus
        self._archive = archive or OutputArchive(None, 0)

    # --- created ------------------------------------------------------------------

    async def create(self, rows: Sequence[Execution]) -> None:
        """Insert rows made by `new_execution` (inside the caller's
        transaction, if any); `announce` them once it is committed."""
        for row in rows:
            check_initial(row.status)
        await Execution.bulk_create(rows)

    async def _create_attempt(self, previous: Execution, retry: Execution) -> None:
        """The next attempt, with the code it runs when that is not a saved
        script (inside the transaction that ends `previous`)."""
        await self.create([retry])
        if previous.script_id is None:
            code = await ExecutionCode.get(execution_id=previous.id)
            await ExecutionCode.create(
                execution_id=retry.id,
                language=code.language,
                content=code.content,
                sha256=code.sha256,
                size=code.size,
            )

    async def announce(self, rows: Sequence[Execution]) -> None:
        """Record each script's last run, publish each row's first event, and
        wake the workers when something was queued."""
        last_by_script = {str(row.script_id): row.id for row in rows if row.script_id is not None}
        for script_id, execution_id in last_by_script.items():
            await Script.filter(id=script_id).update(last_execution_id=execution_id)
        for row in rows:
            if row.status is not QUEUED:  # refused at once: ended unrun
                metrics.execution_ended(row.status.value, None, None)
            self._bus.open(str(row.id))
            seq = SEQ_QUEUED if row.status is QUEUED else SEQ_ENDED_UNRUN
            await self._bus.publish(ExecutionEvent.of(row, seq, row.status))
        if any(row.status is QUEUED for row in rows):
            await self._bus.notify_queued()

    # --- claimed ------------------------------------------------------------------

    async def claim(self, worker: str, tags: Iterable[str]) -> Execution | None:
        """The oldest queued row this worker (carrying `tags`) may run now,
        RUNNING and announced."""
        row = await claim_next_execution(worker, tags)
        if row is not None:
            _observe_wait(row)
            await self._bus.publish(ExecutionEvent.of(row, SEQ_RUNNING, RUNNING))
        return row

    async def cancels_requested(self, execution_ids: Iterable[str]) -> set[str]:
        """Which of these running rows were asked to stop (by any process), or
        are gone: deleted with their script, folder or owner, they have no
        row left to record an end in, so running on only takes a slot."""
        asked = list(execution_ids)
        rows = await Execution.filter(id__in=asked).values_list("id", "cancel_requested")
        present = {str(execution_id): flagged for execution_id, flagged in rows}
        return {execution_id for execution_id in asked if present.get(execution_id, True)}

    # --- ended --------------------------------------------------------------------

    async def finish(
        self, row: Execution, ending: Ending, stdout: str, stderr: str, seq: int
    ) -> bool:
        """Its worker ends a RUNNING row; `seq` numbers the terminal event,
        after every output event the worker published."""
        kept = await self._archive.keep(row.id, stdout, stderr)
        now = datetime.now(UTC)
        written: dict[str, Any] = dict(
            error_code=ending.error_code,
            error_message=ending.error_message,
            result_json=ending.result_json,
            exit_code=ending.exit_code,
            **kept.columns(),
            output_truncated=ending.output_truncated,
            rejected_artifacts=list(ending.rejected_artifacts),
            finished_at=now,
            duration_ms=(
                _ms_between(row.started_at, now)
                if ending.duration_ms is None
                else ending.duration_ms
            ),
            peak_memory_bytes=ending.usage.peak_memory_bytes,
            cpu_user_seconds=ending.usage.cpu_user_seconds,
            cpu_system_seconds=ending.usage.cpu_system_seconds,
            wall_seconds=ending.usage.wall_seconds,
            image=ending.image,
            image_id=ending.image_id,
        )
        async with _with_retry(row):
            ended = await _move(row, RUNNING, ending.status, **written)
            retry = next_attempt(row, ending.status, ending.error_code, now) if ended else None
            if retry is not None:
                await self._create_attempt(row, retry)
        if not ended:
            await self._archive.discard(kept)
        # A row deleted meanwhile (with its script) gets its end published
        # all the same, so that its followers stop.
        if ended:
            finished = _as_written(row, ending.status, written)
            await self._bus.publish(ExecutionEvent.of(row, seq, ending.status, finished=finished))
        elif not await Execution.exists(id=row.id):
            await self._bus.publish(ExecutionEvent.of(row, seq, ending.status))
        if retry is not None:
            await self.announce([retry])
        return ended

    async def cancel_queued(self, row: Execution) -> bool:
        """A QUEUED row ends CANCELLED; False when a worker claimed it first."""
        cancelled = await _move(
            row,
            QUEUED,
            ExecutionStatus.CANCELLED,
            error_code=ExecutionErrorCode.CANCELLED,
            error_message="Cancelled before it started.",
            finished_at=datetime.now(UTC),
            duration_ms=0,
        )
        if cancelled:
            metrics.execution_ended(ExecutionStatus.CANCELLED.value, None, None)
            await self._bus.publish(
                ExecutionEvent.of(row, SEQ_ENDED_UNRUN, ExecutionStatus.CANCELLED)
            )
        return cancelled

    async def request_cancel(self, row: Execution) -> None:
        """Ask the worker running this row to stop it: a flag on the row (its
        worker polls it) and a signal on the bus, so it stops at once."""
        await Execution.filter(id=row.id).update(cancel_requested=True)
        await self._bus.notify_cancel(str(row.id))

    async def running_on(self, worker: str) -> list[Execution]:
        return await Execution.filter(status=RUNNING, worker=worker)

    async def running_elsewhere(self, alive: set[str], started_before: datetime) -> list[Execution]:
        """RUNNING rows started before `started_before` on workers not in `alive`."""
        running = await Execution.filter(status=RUNNING, started_at__lt=started_before)
        return [row for row in running if row.worker not in alive]

    async def fail_lost(self, rows: Sequence[Execution]) -> int:
        """RUNNING rows whose worker died end FAILED (WORKER_LOST) rather than
        being run again: a script may have had side effects (a retry policy
        that lists WORKER_LOST queues a new attempt, in the same transaction).
        Each keeps what it printed (its batches, completed by the bus), and a
        late subscriber replaying the bus is shown the same: what the bus
        lacks is published before the end."""
        failed = 0
        for row in rows:
            output = await output_so_far(self._bus, str(row.id))
            kept = await self._archive.keep(row.id, output.stdout, output.stderr)
            now = datetime.now(UTC)
            # Conditional on the worker too: a row another worker finished or
            # that was re-claimed is left alone.
            async with _with_retry(row):
                lost = await _move(
                    row,
                    RUNNING,
                    ExecutionStatus.FAILED,
                    where={"worker": row.worker},
                    error_code=ExecutionErrorCode.WORKER_LOST,
                    error_message="The worker running this execution stopped unexpectedly.",
                    **kept.columns(),
                    finished_at=now,
                    duration_ms=_ms_between(row.started_at, now),
                )
                retry = (
                    next_attempt(row, ExecutionStatus.FAILED, ExecutionErrorCode.WORKER_LOST, now)
                    if lost
                    else None
                )
                if retry is not None:
                    await self._create_attempt(row, retry)
            if not lost:
                await self._archive.discard(kept)
                continue
            failed += 1
            metrics.execution_ended(ExecutionStatus.FAILED.value, None, None)
            await delete_persisted_output(str(row.id))
            seq = output.last_seq
            for stream, data in output.missing_from_bus():
                seq += 1
                await self._bus.publish(ExecutionEvent.of(row, seq, RUNNING, stream, data))
            await self._bus.publish(ExecutionEvent.of(row, seq + 1, ExecutionStatus.FAILED))
            if retry is not None:
                await self.announce([retry])
        return failed


async def _move(
    row: Execution,
    old: ExecutionStatus,
    new: ExecutionStatus,
    where: Mapping[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """The one conditional UPDATE that changes a status: from `old` (and
    `where`) to `new`, if the lifecycle has that move. True when it did."""
    check_move(old, new)
    if old is RUNNING:
        # Frees the script's run slot and the batch's with the same write.
        fields["run_slot"] = fields["batch_slot"] = None
    return await update_where(row.id, {"status": old, **(where or {})}, {"status": new, **fields})


def _as_written(row: Execution, status: ExecutionStatus, fields: Mapping[str, Any]) -> Execution:
    """A copy of `row` as `_move` left it in the database (the worker's own
    row stays as it was claimed)."""
    finished = copy.copy(row)
    for name, value in {**fields, "status": status, "run_slot": None, "batch_slot": None}.items():
        setattr(finished, name, value)
    return finished


def _with_retry(row: Execution) -> AbstractAsyncContextManager[object]:
    """A transaction for the end of a row whose policy may queue a retry (so
    the end and the retry are written together); none otherwise, keeping
    the end of every other run the one UPDATE it was."""
    return in_transaction() if row.retry is not None else contextlib.nullcontext()


def _observe_wait(row: Execution) -> None:
    """How long a claimed row waited, from when it could first run."""
    ready = max(filter(None, (row.queued_at, row.not_before)), default=None)
    if ready is not None and row.started_at is not None:
        metrics.QUEUE_WAIT.observe(max(0.0, (row.started_at - ready).total_seconds()))


def _ms_between(start: datetime | None, end: datetime) -> int | None:
    if start is None:
        return None
    return max(0, int((end - start).total_seconds() * 1000))
