"""The worker: claims QUEUED executions, runs each in the sandbox, streams its
output to the event bus (and, in batches, to the database: engine/output_journal)
and records the outcome.

At most `concurrency` executions run at once; the rest wait in the queue (the
database). A claim is a conditional UPDATE, so each execution runs once even
when several workers poll the same database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.errors import ClientError
from core.settings import Settings
from core.statuses import ExecutionStatus
from core.tasks import cancel_and_wait
from models.executions import Execution, WorkerHeartbeat
from models.tree import Script, ScriptVersion
from sandbox import DockerSandbox, OutputChunk, SandboxJob, SandboxOutcome, SandboxUnavailable
from services.dependencies import DependencyManager
from services.events import (
    SEQ_RUNNING,
    EventBusUnavailable,
    ExecutionEvent,
    ExecutionEventBus,
    Stream,
)
from services.execution_output import (
    OutputPiece,
    PersistedOutput,
    delete_persisted_output,
    joined_output,
    persisted_pieces,
)
from services.execution_queue import claim_next_execution
from services.files import FileStore
from services.secrets import MissingSecrets, SecretStore
from storage import ObjectStore
from worker.limits import default_limits
from worker.masking import OutputMasker
from worker.output_journal import OutputJournal

log = logging.getLogger(__name__)

OUTPUT_COALESCE_SECONDS = 0.05
IDLE_POLL_SECONDS = 1.0
CANCEL_POLL_SECONDS = 0.5

STATUS_OF_OUTCOME = {
    "succeeded": ExecutionStatus.SUCCEEDED,
    "failed": ExecutionStatus.FAILED,
    "timed_out": ExecutionStatus.TIMED_OUT,
    "cancelled": ExecutionStatus.CANCELLED,
}


@dataclass
class RunningExecution:
    """What this process knows of one execution it is running."""

    row: Execution
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    next_seq: int = SEQ_RUNNING + 1
    output: dict[Stream, list[str]] = field(default_factory=lambda: {"stdout": [], "stderr": []})
    maskers: dict[Stream, OutputMasker] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    pending_stream: Stream | None = None
    flush_task: asyncio.Task[None] | None = None
    # Held while an output event is numbered and published: a flush still in
    # flight when the run ends must land on the bus before the terminal event
    # (two publishes on two connections may otherwise arrive in either order,
    # and a subscriber stops at the terminal event).
    publish_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def text(self, stream: Stream) -> str:
        return "".join(self.output[stream])


class Worker:
    def __init__(
        self,
        name: str,
        settings: Settings,
        sandbox: DockerSandbox,
        store: ObjectStore,
        bus: ExecutionEventBus,
        secrets: SecretStore,
        files: FileStore,
    ) -> None:
        self.name = name
        self._settings = settings
        self._sandbox = sandbox
        self._store = store
        self._bus = bus
        self._secrets = secrets
        self._files = files
        self._slots = asyncio.Semaphore(max(1, settings.worker_concurrency))
        self._wakeup = asyncio.Event()
        self._background: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.running: dict[str, RunningExecution] = {}
        self.deps = DependencyManager(name, settings, sandbox)  # Python dependencies
        self.journal = OutputJournal()

    async def start(self) -> None:
        await self._beat()
        await self.recover_lost_executions()
        await self._sandbox.start()
        await self.deps.start()
        loops = (
            self._claim_loop,
            self._heartbeat_loop,
            self._cancel_loop,
            self._signal_loop,
            self.journal.run,
        )
        for loop in loops:
            self._background.append(
                asyncio.create_task(loop(), name=f"{self.name} {loop.__name__}")
            )

    async def stop(self) -> None:
        await cancel_and_wait(self._background)
        for running in self.running.values():
            running.cancel.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=15)
        # Runs that ignored the cancel are cancelled outright and awaited, so
        # their clean-up (the removal of their containers) happens before the
        # sandbox closes rather than in tasks that die with the event loop.
        await cancel_and_wait(self._tasks)
        await self.deps.close()
        await self._sandbox.close()

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wakeup.set()

    def request_cancel(self, execution_id: str) -> bool:
        running = self.running.get(execution_id)
        if running is None:
            return False
        running.cancel.set()
        return True

    async def recover_lost_executions(self) -> int:
        """RUNNING rows of this worker are left from a crash: no process runs
        them any more. They end FAILED (WORKER_LOST) rather than being run
        again, because a script may have had side effects before the crash;
        their containers are removed by label."""
        lost = await self._fail_lost(
            await Execution.filter(status=ExecutionStatus.RUNNING, worker=self.name)
        )
        reaped = await self._sandbox.reap(self.name)
        if lost or reaped:
            log.warning(
                "recovered %d lost executions and removed %d containers of worker %s",
                lost,
                reaped,
                self.name,
            )
        return lost

    async def _fail_lost(self, rows: list[Execution]) -> int:
        now = datetime.now(UTC)
        failed = 0
        for row in rows:
            output, unpublished, last_seq = await self._output_of_lost(str(row.id))
            # Conditional on the worker too: a row another worker finished or
            # that was re-claimed is left alone.
            updated = await Execution.filter(
                id=row.id, status=ExecutionStatus.RUNNING, worker=row.worker
            ).update(
                status=ExecutionStatus.FAILED,
                error_code="WORKER_LOST",
                error_message="The worker running this execution stopped unexpectedly.",
                stdout=output.stdout,
                stderr=output.stderr,
                finished_at=now,
                duration_ms=_ms_between(row.started_at, now),
            )
            if updated:
                failed += 1
                await delete_persisted_output(str(row.id))
                # A late subscriber replays the bus: what it lacks (all of it,
                # when the bus died with the worker) is published before the end.
                for stream, data in unpublished:
                    last_seq += 1
                    await self._bus.publish(_event_of(row, last_seq, stream=stream, data=data))
                await self._publish_status(row, ExecutionStatus.FAILED, seq=last_seq + 1)
        return failed

    async def _output_of_lost(
        self, execution_id: str
    ) -> tuple[PersistedOutput, list[tuple[Stream, str]], int]:
        """What a lost execution printed, what of it the bus lacks, and the
        last seq it used. The output is its batches in the database,
        completed by what the bus still carries (a bus shared by processes,
        e.g. Redis, outlives the dead worker and may hold the last second the
        worker had no time to write). Stored this way, the output equals
        what subscribers were shown."""
        pieces = await persisted_pieces(execution_id)
        stored_up_to = max([SEQ_RUNNING, *(piece.last_seq for piece in pieces)])
        last_seq = stored_up_to
        try:
            history = await self._bus.history(execution_id) or []
        except EventBusUnavailable as exc:
            log.warning("bus unavailable; %s keeps its stored output only: %s", execution_id, exc)
            history = []
        on_bus: set[int] = set()
        for event in history:
            last_seq = max(last_seq, event.seq)
            if event.stream is not None and event.data:
                on_bus.add(event.seq)
                if event.seq > stored_up_to:
                    pieces.append(OutputPiece(event.seq, event.seq, event.stream, event.data))
        unpublished: list[tuple[Stream, str]] = []
        for piece in pieces:
            if on_bus.intersection(range(piece.first_seq, piece.last_seq + 1)):
                continue
            if unpublished and unpublished[-1][0] == piece.stream:
                # One event per run of one stream, not one per batch.
                unpublished[-1] = (piece.stream, unpublished[-1][1] + piece.data)
            else:
                unpublished.append((piece.stream, piece.data))
        return joined_output(pieces), unpublished, last_seq

    async def _beat(self) -> None:
        now = datetime.now(UTC)
        updated = await WorkerHeartbeat.filter(name=self.name).update(last_seen=now)
        if not updated:
            await WorkerHeartbeat.update_or_create(
                name=self.name, defaults={"last_seen": now, "started_at": now}
            )

    async def _heartbeat_loop(self) -> None:
        """Say we are alive, and fail the RUNNING executions of workers that
        have been silent for too long (they died without recovering)."""
        interval = self._settings.worker_heartbeat_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self._beat()
                await self.sweep_dead_workers()
            except Exception:
                log.exception("heartbeat failed")

    async def sweep_dead_workers(self) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=self._settings.worker_lost_after_seconds)
        alive = {
            str(name)
            for name in await WorkerHeartbeat.filter(last_seen__gte=cutoff).values_list(
                "name", flat=True
            )
        }
        running = await Execution.filter(status=ExecutionStatus.RUNNING, started_at__lt=cutoff)
        orphans = [row for row in running if row.worker not in alive]
        if not orphans:
            return 0
        failed = await self._fail_lost(orphans)
        if failed:
            log.warning("failed %d executions of workers silent since %s", failed, cutoff)
        return failed

    async def _cancel_loop(self) -> None:
        """Cancels asked for through another process arrive as a flag on the row."""
        while True:
            await asyncio.sleep(CANCEL_POLL_SECONDS)
            if not self.running:
                continue
            try:
                flagged = await Execution.filter(
                    id__in=list(self.running), cancel_requested=True
                ).values_list("id", flat=True)
            except Exception:
                log.exception("polling for cancels failed")
                continue
            for execution_id in flagged:
                self.request_cancel(str(execution_id))

    async def _signal_loop(self) -> None:
        """Wake on "queued" signals from other processes, when the bus has them."""
        while True:
            signals = self._bus.queued_signals()
            if signals is None:
                return
            try:
                async for _ in signals:
                    self.wake()
            except Exception as exc:
                log.warning("queue signals interrupted (%s); polling meanwhile", exc)
            await asyncio.sleep(IDLE_POLL_SECONDS)

    async def _claim_loop(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                row = await claim_next_execution(self.name)
            except Exception:
                self._slots.release()
                log.exception("claiming the next execution failed")
                await asyncio.sleep(IDLE_POLL_SECONDS)
                continue
            if row is None:
                self._slots.release()
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), IDLE_POLL_SECONDS)
                continue
            log.info("worker %s claimed execution %s", self.name, row.id)
            task = asyncio.create_task(self._run_and_release(row), name=f"execution {row.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_and_release(self, row: Execution) -> None:
        try:
            await self._run(row)
        except Exception:
            log.exception("execution %s failed inside the worker", row.id)
            await self._finish_with_error(
                row, "INTERNAL_ERROR", "The worker failed; see logs.", self.running.get(str(row.id))
            )
        finally:
            self.running.pop(str(row.id), None)
            self._slots.release()
            try:
                await self.journal.forget(str(row.id))
            except Exception:
                log.exception("deleting the output batches of %s failed", row.id)

    async def _run(self, row: Execution) -> None:
        running = RunningExecution(row)
        self.running[str(row.id)] = running
        await self._publish_status(row, ExecutionStatus.RUNNING, seq=SEQ_RUNNING)
        if row.cancel_requested:
            running.cancel.set()

        script = await Script.get_or_none(id=row.script_id)
        version = await ScriptVersion.get_or_none(
            script_id=row.script_id, version=row.script_version
        )
        if script is None or version is None:
            await self._finish_with_error(row, "NOT_FOUND", "The script was deleted.")
            return
        try:
            secrets = await self._secrets.values_for(str(row.owner_id), list(script.secret_names))
        except MissingSecrets as exc:
            await self._finish_with_error(
                row,
                "MISSING_SECRET",
                f"The script needs secrets that do not exist: {', '.join(exc.names)}.",
            )
            return
        try:
            files = await self._files.read_for_run(
                str(row.owner_id),
                list(row.input_files),
                self._settings.max_run_files_bytes,
            )
        except ClientError as exc:
            await self._finish_with_error(row, "INPUT_FILE_ERROR", exc.message)
            return
        running.maskers = {s: OutputMasker(list(secrets.values())) for s in ("stdout", "stderr")}
        content = await self._store.get_bytes(version.storage_key)
        # Python dependencies: resolved, installed and cached in engine/deps.
        deps = await self.deps.prepare(script, content, running.cancel)
        if deps.error is not None:
            await self._finish_with_error(row, *deps.error, running)
            return
        job = SandboxJob(
            execution_id=str(row.id),
            language="python" if script.language.value == "python" else "shell",
            script=content,
            input_json=row.input_json.encode(),
            files=files,
            env={**secrets, **deps.env},
            limits=default_limits(self._settings, row.timeout_seconds),
            volumes=deps.volumes,
        )

        async def on_output(chunk: OutputChunk) -> None:
            await self._emit_output(row, running, chunk.stream, chunk.data)

        try:
            outcome = await self._sandbox.run(job, on_output, running.cancel)
        except SandboxUnavailable as exc:
            log.error("sandbox unavailable for execution %s: %s", row.id, exc)
            await self._finish_with_error(
                row, "SANDBOX_UNAVAILABLE", "The sandbox is unavailable; try again later.", running
            )
            return
        await self._finish(row, outcome, running)

    async def _emit_output(
        self, row: Execution, running: RunningExecution, stream: Stream, text: str
    ) -> None:
        masker = running.maskers.get(stream)
        await self._publish_output(row, running, stream, masker.feed(text) if masker else text)

    async def _publish_output(
        self, row: Execution, running: RunningExecution, stream: Stream, shown: str
    ) -> None:
        """Output is gathered for up to OUTPUT_COALESCE_SECONDS before it is
        published: a chatty script makes at most ~20 events a second per
        stream, whatever its write pattern, so fan-out cost per subscriber is
        bounded. Order across the streams is kept (a change of stream flushes)."""
        if not shown:
            return
        running.output[stream].append(shown)
        if running.pending_stream is not None and running.pending_stream != stream:
            await self._flush_output(row, running)
        running.pending_stream = stream
        running.pending.append(shown)
        if running.flush_task is None:
            running.flush_task = asyncio.create_task(self._flush_later(row, running))

    async def _flush_later(self, row: Execution, running: RunningExecution) -> None:
        await asyncio.sleep(OUTPUT_COALESCE_SECONDS)
        running.flush_task = None
        await self._flush_output(row, running)

    async def _flush_output(self, row: Execution, running: RunningExecution) -> None:
        task, running.flush_task = running.flush_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        stream, running.pending_stream = running.pending_stream, None
        shown = "".join(running.pending)
        running.pending.clear()
        async with running.publish_lock:
            if stream is None or not shown:
                return  # still waited for a publish in flight (see publish_lock)
            seq = running.next_seq
            running.next_seq += 1
            event = _event_of(row, seq, stream=stream, data=shown)
            await self._bus.publish(event)
            # The database gets exactly the events subscribers get, a little later.
            self.journal.record(event)

    async def _finish(
        self, row: Execution, outcome: SandboxOutcome, running: RunningExecution
    ) -> None:
        for stream, masker in running.maskers.items():
            await self._publish_output(row, running, stream, masker.flush())
        await self._flush_output(row, running)
        status = STATUS_OF_OUTCOME[outcome.status]
        saved = await self._files.save_artifacts(str(row.id), outcome.artifacts)
        rejected = [*outcome.rejected_artifacts, *saved.rejected]
        error_message = outcome.error_message
        if error_message and running.maskers:
            error_message = running.maskers["stdout"].mask(error_message)
        now = datetime.now(UTC)
        await Execution.filter(id=row.id, status=ExecutionStatus.RUNNING).update(
            rejected_artifacts=rejected,
            status=status,
            result_json=outcome.result_json,
            error_code=outcome.error_code,
            error_message=error_message,
            exit_code=outcome.exit_code,
            stdout=running.text("stdout"),
            stderr=running.text("stderr"),
            output_truncated=outcome.stdout_truncated or outcome.stderr_truncated,
            finished_at=now,
            duration_ms=outcome.duration_ms,
        )
        await self._publish_status(row, status, seq=running.next_seq)

    async def _finish_with_error(
        self,
        row: Execution,
        code: str,
        message: str,
        running: RunningExecution | None = None,
    ) -> None:
        now = datetime.now(UTC)
        await Execution.filter(id=row.id, status=ExecutionStatus.RUNNING).update(
            status=ExecutionStatus.FAILED,
            error_code=code,
            error_message=message,
            stdout=running.text("stdout") if running else "",
            stderr=running.text("stderr") if running else "",
            finished_at=now,
            duration_ms=_ms_between(row.started_at, now),
        )
        if running is not None:
            await self._flush_output(row, running)
        seq = running.next_seq if running else SEQ_RUNNING + 1
        await self._publish_status(row, ExecutionStatus.FAILED, seq=seq)

    async def _publish_status(self, row: Execution, status: ExecutionStatus, seq: int) -> None:
        await self._bus.publish(_event_of(row, seq, status=status))


def _event_of(
    row: Execution,
    seq: int,
    *,
    status: ExecutionStatus = ExecutionStatus.RUNNING,
    stream: Stream | None = None,
    data: str | None = None,
) -> ExecutionEvent:
    """An event of `row`: output (with `stream` and `data`) or a status change."""
    return ExecutionEvent(
        execution_id=str(row.id),
        owner_id=str(row.owner_id),
        seq=seq,
        status=status,
        stream=stream,
        data=data,
        batch_id=str(row.batch_id) if row.batch_id else None,
    )


def _ms_between(start: datetime | None, end: datetime) -> int | None:
    if start is None:
        return None
    return max(0, int((end - start).total_seconds() * 1000))
