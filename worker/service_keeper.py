"""Keeping one service up, on the worker that claimed it (worker/supervisor.py).

    launch   prime its job (worker/service_job.py) and start its container:
             STARTING, then RUNNING once the job is in the container
    watch    every WATCH_SECONDS, or at once when poked: read the row; a
             stop, a deleted row, a lost claim or a deactivated owner stop
             the container (SIGTERM, then a kill after the grace period); a
             restart asked for starts a new container (a redeploy's new
             version) and stops the old one only once the new one is up or
             has ended; the container's memory and CPU are sampled
    end      per its restart policy: BACKOFF and a restart after a wait that
             doubles with each failure in a row, or STOPPED, or FAILED once
             the failures in a row pass its maximum

Every step is an event (services/service_history.py) and a status change
announced to the owner's `myServices`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.service_states import ServiceEventKind, ServiceStatus, backoff_seconds
from core.statuses import ExecutionStatus
from models.services import Service
from models.users import User
from sandbox import SandboxOutcome, SandboxUnavailable
from services import service_history, service_logs
from services.service_ops import announce_status, stop_row
from services.service_sockets import remove_socket_dir
from worker.run import RunParts
from worker.service_job import CannotStart, ServiceJob, service_job
from worker.service_output import ServiceOutput

if TYPE_CHECKING:
    from worker.supervisor import Supervisor

log = logging.getLogger(__name__)

WATCH_SECONDS = 1.0
SAMPLE_SECONDS = 5.0


class _Container:
    """One start of the service: its sandbox run, in a task of its own."""

    def __init__(self, keeper: ServiceKeeper, row: Service, prepared: ServiceJob) -> None:
        self.keeper = keeper
        self.version = row.version
        self.generation = row.generation
        self.prepared = prepared
        self.cancel = asyncio.Event()
        self.started = asyncio.Event()
        self.container_id: str | None = None
        self.up_since: float | None = None
        self.task: asyncio.Task[SandboxOutcome] | None = None

    def start(self) -> asyncio.Task[SandboxOutcome]:
        parts = self.keeper.parts
        self.task = asyncio.create_task(
            parts.sandbox.run(
                self.prepared.job,
                self.keeper.output.feed,
                self.cancel,
                stop_grace_seconds=parts.settings.service_stop_grace_seconds,
                on_started=self._on_started,
            ),
            name=f"service {self.keeper.service_id}",
        )
        return self.task

    async def _on_started(self, container_id: str) -> None:
        self.container_id = container_id
        self.up_since = time.monotonic()
        self.started.set()
        await self.keeper.running(self)

    @property
    def uptime(self) -> float:
        return 0.0 if self.up_since is None else time.monotonic() - self.up_since

    async def outcome(self) -> SandboxOutcome | None:
        """How it ended; None when the sandbox itself failed."""
        assert self.task is not None
        try:
            return await self.task
        except SandboxUnavailable as exc:
            log.error("sandbox unavailable for service %s: %s", self.keeper.service_id, exc)
            return None


class ServiceKeeper:
    def __init__(self, supervisor: Supervisor, service_id: str) -> None:
        self.supervisor = supervisor
        self.parts: RunParts = supervisor.parts
        self.service_id = service_id
        self.poke = asyncio.Event()
        self.output = ServiceOutput(
            service_id,
            self.parts.bus,
            self.parts.settings.service_log_bytes_per_second,
            self.parts.settings.service_log_lines,
            next_seq=1,
        )

    # --- the loop ------------------------------------------------------------------

    async def keep(self) -> None:
        self.output = ServiceOutput(
            self.service_id,
            self.parts.bus,
            self.parts.settings.service_log_bytes_per_second,
            self.parts.settings.service_log_lines,
            next_seq=await service_logs.next_seq(self.service_id),
        )
        try:
            while not self.supervisor.closing:
                row = await self._mine()
                if row is None:
                    return
                if not row.desired_running:
                    if row.status in (ServiceStatus.STOPPED, ServiceStatus.FAILED):
                        await self._release()
                    else:
                        await self._ended_stopped(row, None)
                    return
                if not await _owner_active(row):
                    await stop_row(row, "its owner was deactivated")
                    continue
                if row.not_before is not None and row.not_before > datetime.now(UTC):
                    await self._nap()
                    continue
                await self._run_once(row)
        finally:
            await self.output.close()

    async def _run_once(self, row: Service) -> None:
        current = await self._launch(row)
        if current is None:
            return
        stopping = False
        sampled = time.monotonic()
        assert current.task is not None
        while not current.task.done():
            await self._nap(current.task)
            if current.task.done():
                break
            fresh = await self._mine()
            if self.supervisor.closing or fresh is None:
                current.cancel.set()
                stopping = True
                continue
            if not fresh.desired_running:
                current.cancel.set()
                stopping = True
                continue
            if not await _owner_active(fresh):
                await stop_row(fresh, "its owner was deactivated")
                continue
            if fresh.generation != current.generation and not stopping:
                current = await self._replace(current, fresh)
                continue
            if current.container_id is not None and time.monotonic() - sampled >= SAMPLE_SECONDS:
                sampled = time.monotonic()
                await self._sample(current.container_id)
        outcome = await current.outcome()
        await self.output.flush()
        await self._ended(current, outcome, stopping)

    # --- starting -------------------------------------------------------------------

    async def _launch(self, row: Service) -> _Container | None:
        """A started container; None when the service cannot start at all
        (then it is FAILED)."""
        cancel = asyncio.Event()
        try:
            prepared = await service_job(self.parts, row, cancel)
        except CannotStart as exc:
            await self._give_up(row, str(exc))
            return None
        self.output.hide(prepared.secrets)
        await self._set(row, status=ServiceStatus.STARTING, not_before=None)
        container = _Container(self, row, prepared)
        container.start()
        return container

    async def running(self, container: _Container) -> None:
        """The job is in its container: the service is up."""
        row = await self._mine()
        if row is None:
            return
        await self._set(row, status=ServiceStatus.RUNNING, started_at=datetime.now(UTC))
        await service_history.record(row, ServiceEventKind.RUNNING, version=container.version)
        self.output.note(f"version {container.version} is running")

    async def _replace(self, old: _Container, row: Service) -> _Container:
        """A restart asked for: the new container first, the old one stopped
        once the new one is up or has ended (a failed redeploy still ends
        the old version: the person asked for the new one)."""
        old.generation = row.generation
        new = await self._launch(row)
        if new is None:
            old.cancel.set()
            await old.outcome()
            return old
        assert new.task is not None
        started = asyncio.create_task(new.started.wait())
        await asyncio.wait({started, new.task}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        old.cancel.set()
        ended = await old.outcome()
        self.output.note(f"version {old.version} stopped: replaced by version {new.version}")
        await service_history.record(
            row,
            ServiceEventKind.STOPPED,
            version=old.version,
            exit_code=ended.exit_code if ended else None,
            message=f"replaced by version {new.version}",
        )
        return new

    # --- ending ---------------------------------------------------------------------

    async def _ended(
        self, container: _Container, outcome: SandboxOutcome | None, stopping: bool
    ) -> None:
        row = await Service.get_or_none(id=self.service_id)
        if row is None:
            return
        exit_code = outcome.exit_code if outcome else None
        if self.supervisor.closing and row.desired_running:
            return  # the worker is shutting down: the next one starts it again
        if stopping or not row.desired_running:
            await self._ended_stopped(row, exit_code)
            return
        if outcome is not None and outcome.status is ExecutionStatus.TIMED_OUT:
            if container.prepared.lifetime_is_the_limit:
                await stop_row(row, "it reached its maximum lifetime")
                await self._ended_stopped(row, exit_code)
            else:
                # Its container's lifetime, not the service's: start afresh.
                await service_history.record(
                    row, ServiceEventKind.RESTART, message="its container was renewed"
                )
            return
        clean = outcome is not None and outcome.status is ExecutionStatus.SUCCEEDED
        message = None if clean else _why(outcome)
        kind = ServiceEventKind.EXIT if clean else ServiceEventKind.CRASH
        await service_history.record(
            row, kind, version=container.version, exit_code=exit_code, message=message
        )
        self.output.note(f"exited with code {exit_code}" + (f": {message}" if message else ""))
        await self._after_end(row, container, clean, exit_code)

    async def _after_end(
        self, row: Service, container: _Container, clean: bool, exit_code: int | None
    ) -> None:
        settings = self.parts.settings
        streak = row.failure_streak
        if container.uptime >= settings.service_backoff_max_seconds:
            streak = 0  # it stayed up a while: its earlier failures are forgiven
        if not row.restart_policy.restarts_after(0 if clean else (exit_code or 1)):
            status = ServiceStatus.STOPPED if clean else ServiceStatus.FAILED
            await self._set(
                row,
                status=status,
                desired_running=False,
                last_exit_code=exit_code,
                started_at=None,
                failure_streak=streak,
            )
            if not clean:
                await service_history.record(
                    row, ServiceEventKind.FAILED, message="its restart policy is NEVER"
                )
            return
        if not clean:
            streak += 1
            if streak > row.max_restarts:
                await self._set(
                    row,
                    status=ServiceStatus.FAILED,
                    desired_running=False,
                    last_exit_code=exit_code,
                    started_at=None,
                    failure_streak=streak,
                )
                await service_history.record(
                    row,
                    ServiceEventKind.FAILED,
                    message=f"gave up after {row.max_restarts} restarts",
                )
                return
        wait = backoff_seconds(
            max(streak - 1, 0),
            settings.service_backoff_seconds,
            settings.service_backoff_max_seconds,
        )
        await self._set(
            row,
            status=ServiceStatus.BACKOFF,
            last_exit_code=exit_code,
            started_at=None,
            failure_streak=streak,
            restarts=row.restarts + 1,
            not_before=datetime.now(UTC) + timedelta(seconds=wait),
        )
        await service_history.record(
            row, ServiceEventKind.RESTART, message=f"restart {row.restarts} in {wait:g} s"
        )

    async def _ended_stopped(self, row: Service, exit_code: int | None) -> None:
        await self._set(
            row,
            status=ServiceStatus.STOPPED,
            worker=None,
            started_at=None,
            last_exit_code=exit_code if exit_code is not None else row.last_exit_code,
        )
        await service_history.record(row, ServiceEventKind.STOPPED, exit_code=exit_code)
        self.output.note("stopped")

    async def _release(self) -> None:
        """It is down for good: no worker holds it any more."""
        await Service.filter(id=self.service_id, worker=self.supervisor.name).update(worker=None)

    async def _give_up(self, row: Service, why: str) -> None:
        await self._set(row, status=ServiceStatus.FAILED, desired_running=False, started_at=None)
        await service_history.record(row, ServiceEventKind.FAILED, message=why)
        self.output.note(f"cannot start: {why}")

    # --- helpers --------------------------------------------------------------------

    async def _mine(self) -> Service | None:
        """The row, while this worker holds it."""
        row = await Service.get_or_none(id=self.service_id)
        if row is None or row.worker != self.supervisor.name:
            return None
        return row

    async def _set(self, row: Service, **changes: Any) -> None:
        """Change the row while this worker holds it, and say so."""
        if "started_at" in changes and changes["started_at"] is None:
            # Not running: no memory or CPU to show.
            changes.update(memory_bytes=None, cpu_user_seconds=None, cpu_system_seconds=None)
        for name, value in changes.items():
            setattr(row, name, value)
        await Service.filter(id=row.id, worker=self.supervisor.name).update(**changes)
        if "status" in changes:
            await announce_status(self.parts.bus, row)

    async def _sample(self, container_id: str) -> None:
        usage = await self.parts.sandbox.usage_now(container_id)
        if usage is not None:
            memory, user, system = usage
            await Service.filter(id=self.service_id, worker=self.supervisor.name).update(
                memory_bytes=memory, cpu_user_seconds=user, cpu_system_seconds=system
            )

    async def _nap(self, task: asyncio.Task[SandboxOutcome] | None = None) -> None:
        """WATCH_SECONDS, or less: until poked, or `task` ends."""
        self.poke.clear()
        poked = asyncio.create_task(self.poke.wait())
        waiting: set[asyncio.Future[Any]] = {poked}
        if task is not None:
            waiting.add(task)
        try:
            await asyncio.wait(waiting, timeout=WATCH_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        finally:
            poked.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poked

    def remove_socket_dir(self) -> None:
        remove_socket_dir(self.parts.settings, self.service_id)


async def _owner_active(row: Service) -> bool:
    return await User.exists(id=row.owner_id, is_active=True)


def _why(outcome: SandboxOutcome | None) -> str:
    if outcome is None:
        return "the sandbox is unavailable"
    if outcome.error_message:
        return outcome.error_message[:500]
    return f"it ended {outcome.status.value}"
