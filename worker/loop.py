"""The worker's loop: claims QUEUED executions and runs each (worker/run.py),
at most `concurrency` at once; the rest wait in the queue (the database). A
claim is a conditional UPDATE, so each execution runs once even when several
workers poll the same database. It claims only runs that require no tag or
one it carries: its name and SCRIPTBOX_WORKER_TAGS.

It hears of new work and of cancels on the bus, from whichever process
queued or cancelled; the database is the backstop for a signal the bus lost
or never carried: the queue is polled every IDLE_POLL_SECONDS while idle,
and the cancel flags of the runs every CANCEL_POLL_SECONDS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from core import logs, tracing
from core.settings import Settings
from core.tasks import cancel_and_wait
from models.executions import Execution
from sandbox import DockerSandbox
from services.dependencies import DependencyManager
from services.events import ExecutionEventBus
from services.executions.lifecycle import ExecutionLifecycle
from services.executions.output_archive import OutputArchive
from services.files import FileStore
from services.secrets import SecretStore
from storage import ObjectStore
from worker.liveness import Liveness
from worker.output_journal import OutputJournal
from worker.run import RunParts, run_execution
from worker.script_contents import ScriptContents
from worker.supervisor import Supervisor

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0
CANCEL_POLL_SECONDS = 0.5
# How long `stop` lets runs end after cancelling them, before it cancels their tasks.
STOP_GRACE_SECONDS = 15

SignalT = TypeVar("SignalT")


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
        # Its name first: every worker can be chosen by name alone.
        self.tags = tuple(dict.fromkeys((name, *settings.worker_tags)))
        self._sandbox = sandbox
        self._bus = bus
        self.lifecycle = ExecutionLifecycle(bus, OutputArchive(store, settings.output_inline_bytes))
        self.deps = DependencyManager(name, settings, sandbox)  # Python dependencies
        self.journal = OutputJournal()
        self.liveness = Liveness(name, settings, self.lifecycle, sandbox, self.tags[1:])
        self._parts = RunParts(
            settings,
            sandbox,
            store,
            bus,
            secrets,
            files,
            self.deps,
            self.lifecycle,
            self.journal,
            ScriptContents(store),
        )
        # Services: scripts kept running, beside the runs.
        self.supervisor = Supervisor(name, self.tags, self._parts)
        self._slots = asyncio.Semaphore(max(1, settings.worker_concurrency))
        self._wakeup = asyncio.Event()
        self._background: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        # The cancel switch of each execution this worker runs, by id.
        self._cancels: dict[str, asyncio.Event] = {}

    async def start(self) -> None:
        await self.liveness.beat()
        await self.liveness.recover_lost_executions()
        await self._sandbox.start()
        await self.deps.start()
        await self.supervisor.start()
        loops = (
            self._claim_loop,
            self._wake_on_signals,
            self._cancel_on_signals,
            self._poll_cancels,
            self.liveness.run,
            self.journal.run,
        )
        for loop in loops:
            self._background.append(
                asyncio.create_task(loop(), name=f"{self.name} {loop.__name__}")
            )

    async def stop(self) -> None:
        await cancel_and_wait(self._background)
        await self.supervisor.stop()
        for cancel in self._cancels.values():
            cancel.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
        # Runs that ignored the cancel are cancelled outright and awaited, so
        # their clean-up (the removal of their containers) happens before the
        # sandbox closes rather than in tasks that die with the event loop.
        await cancel_and_wait(self._tasks)
        await self.liveness.leave()
        await self.deps.close()
        await self._sandbox.close()

    # --- claiming -----------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                with tracing.span("execution.claim", {"worker": self.name}):
                    row = await self.lifecycle.claim(self.name, self.tags)
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
            task = asyncio.create_task(
                self._run_and_release(row),
                name=f"execution {row.id}",
                context=logs.for_execution(str(row.id), str(row.owner_id)),
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_and_release(self, row: Execution) -> None:
        execution_id = str(row.id)
        cancel = self._cancels[execution_id] = asyncio.Event()
        if row.cancel_requested:
            cancel.set()
        try:
            await run_execution(self._parts, row, cancel)
        except Exception:
            log.exception("recording the end of execution %s failed", row.id)
        finally:
            self._cancels.pop(execution_id, None)
            self._slots.release()
            try:
                await self.journal.forget(execution_id)
            except Exception:
                log.exception("deleting the output batches of %s failed", row.id)

    # --- hearing from other processes ---------------------------------------------

    async def _wake_on_signals(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        await _listen(self._bus.queued_signals, lambda _: self._wakeup.set(), "queue")

    async def _cancel_on_signals(self) -> None:
        await _listen(self._bus.cancel_signals, self._cancel, "cancel")

    async def _poll_cancels(self) -> None:
        """Cancels whose signal was lost are still a flag on the row."""
        while True:
            await asyncio.sleep(CANCEL_POLL_SECONDS)
            if not self._cancels:
                continue
            try:
                flagged = await self.lifecycle.cancels_requested(list(self._cancels))
            except Exception:
                log.exception("polling for cancels failed")
                continue
            for execution_id in flagged:
                self._cancel(execution_id)

    def _cancel(self, execution_id: str) -> None:
        cancel = self._cancels.get(execution_id)
        if cancel is not None:
            cancel.set()


async def _listen(
    signals: Callable[[], AsyncIterator[SignalT]], handle: Callable[[SignalT], None], what: str
) -> None:
    """Handle each signal; after an interruption, listen again a moment later."""
    while True:
        try:
            async for signal in signals():
                handle(signal)
        except Exception as exc:
            log.warning("%s signals interrupted (%s); polling meanwhile", what, exc)
        await asyncio.sleep(IDLE_POLL_SECONDS)
