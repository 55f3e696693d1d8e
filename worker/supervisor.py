"""The supervisor of a worker: claims the services that should run and keeps
each one up (worker/service_keeper.py), one worker per service.

A claim is a conditional UPDATE of the row's `worker`, so two supervisors
polling the same database never both take a service. A supervisor claims
services nobody holds, those it held itself before a crash (its name is
stable across restarts), and those of workers whose heartbeat (written by
worker/liveness.py) is older than the lost-after interval: their containers
died with them (the runner ends when its host hangs up), so the service is
started again here. Only services whose `target` tag this worker carries are
claimed.

It hears of new work on the bus (services/service_logs.py SUPERVISOR_TOPIC)
and polls the database every CLAIM_POLL_SECONDS as the backstop. Stopped
gracefully, it stops its services' containers and lets go of their claims,
so the next worker up (or this one, restarted) starts them again at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from core.service_states import ServiceEventKind, ServiceStatus
from core.tasks import cancel_and_wait
from models.executions import WorkerHeartbeat
from models.services import Service
from services import service_history
from services.service_logs import SUPERVISOR_TOPIC
from services.service_ops import announce_status
from services.service_sockets import remove_stale_socket_dirs
from worker.run import RunParts
from worker.service_keeper import ServiceKeeper

log = logging.getLogger(__name__)

CLAIM_POLL_SECONDS = 1.0
LISTEN_RETRY_SECONDS = 1.0


class Supervisor:
    def __init__(self, name: str, tags: tuple[str, ...], parts: RunParts) -> None:
        self.name = name
        self.tags = frozenset(tags)
        self.parts = parts
        self.closing = False
        self._keepers: dict[str, ServiceKeeper] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._background: list[asyncio.Task[None]] = []
        self._wakeup = asyncio.Event()

    async def start(self) -> None:
        try:
            await remove_stale_socket_dirs(self.parts.settings)
        except Exception:  # a leftover directory is no reason not to start
            log.warning("removing stale service socket directories failed", exc_info=True)
        for loop in (self._claim_loop, self._listen):
            self._background.append(
                asyncio.create_task(loop(), name=f"{self.name} {loop.__name__}")
            )

    async def stop(self) -> None:
        """Stop every kept service's container and let go of the claims."""
        self.closing = True
        await cancel_and_wait(self._background)
        for keeper in self._keepers.values():
            keeper.poke.set()
        if self._tasks:
            grace = self.parts.settings.service_stop_grace_seconds + 5
            await asyncio.wait(self._tasks.values(), timeout=grace)
        await cancel_and_wait(self._tasks.values())
        try:
            released = await Service.filter(worker=self.name).update(
                worker=None, status=ServiceStatus.STARTING, started_at=None
            )
            if released:
                log.info("worker %s let go of %d services", self.name, released)
        except Exception:
            log.exception("letting go of the services of worker %s failed", self.name)

    # --- claiming -------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while True:
            try:
                await self.claim()
            except Exception:
                log.exception("claiming services failed")
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), CLAIM_POLL_SECONDS)

    async def claim(self) -> None:
        cutoff = datetime.now(UTC) - timedelta(
            seconds=self.parts.settings.worker_lost_after_seconds
        )
        alive = [
            str(name)
            for name in await WorkerHeartbeat.filter(last_seen__gte=cutoff).values_list(
                "name", flat=True
            )
        ]
        unheld = Q(worker__isnull=True) | Q(worker=self.name)
        unheld |= ~Q(worker__in=alive) if alive else Q(worker__isnull=False)
        rows = await Service.filter(unheld, desired_running=True).values_list(
            "id", "worker", "target"
        )
        for service_id, worker, target in rows:
            key = str(service_id)
            if key in self._tasks or (target is not None and target not in self.tags):
                continue
            held = Service.filter(id=service_id, desired_running=True)
            held = (
                held.filter(worker__isnull=True) if worker is None else held.filter(worker=worker)
            )
            if not await held.update(worker=self.name):
                continue  # another supervisor was quicker
            row = await Service.get_or_none(id=service_id)
            if row is None:
                continue
            if worker is not None and worker != self.name:
                await service_history.record(
                    row, ServiceEventKind.WORKER_LOST, message=f"its worker {worker} went silent"
                )
            log.info("worker %s keeps service %s", self.name, key)
            await announce_status(self.parts.bus, row)
            self._keep(key)
        await self._end_orphaned_stops(alive)

    async def _end_orphaned_stops(self, alive: list[str]) -> None:
        """A stop asked for while its worker died: there is no container to stop."""
        orphaned = Service.filter(desired_running=False, status=ServiceStatus.STOPPING).filter(
            Q(worker__isnull=True) | ~Q(worker__in=[*alive, self.name])
        )
        for row in await orphaned:
            if await Service.filter(id=row.id, worker=row.worker).update(
                status=ServiceStatus.STOPPED, worker=None, started_at=None
            ):
                await service_history.record(row, ServiceEventKind.STOPPED)

    def _keep(self, service_id: str) -> None:
        keeper = self._keepers[service_id] = ServiceKeeper(self, service_id)
        task = asyncio.create_task(self._run_keeper(keeper), name=f"keeper {service_id}")
        self._tasks[service_id] = task

    async def _run_keeper(self, keeper: ServiceKeeper) -> None:
        try:
            await keeper.keep()
        except Exception:
            log.exception("keeping service %s failed", keeper.service_id)
            # Let go, so that a claim (here or elsewhere) starts it afresh.
            with contextlib.suppress(Exception):
                await Service.filter(id=keeper.service_id, worker=self.name).update(worker=None)
        finally:
            keeper.remove_socket_dir()
            self._keepers.pop(keeper.service_id, None)
            self._tasks.pop(keeper.service_id, None)
            self._wakeup.set()

    # --- hearing from other processes -----------------------------------------------

    async def _listen(self) -> None:
        while True:
            try:
                async for service_id in self.parts.bus.announcements(SUPERVISOR_TOPIC):
                    keeper = self._keepers.get(service_id)
                    if keeper is not None:
                        keeper.poke.set()
                    else:
                        self._wakeup.set()
            except Exception as exc:
                log.warning("service signals interrupted (%s); polling meanwhile", exc)
            await asyncio.sleep(LISTEN_RETRY_SECONDS)
