"""Keeping the fleet honest: each worker says it is alive, and executions of
workers that died end instead of staying RUNNING for ever.

- On start, a worker fails the RUNNING rows it left itself (it crashed and
  came back under the same name) and removes their containers by label.
- Every heartbeat interval it writes its heartbeat (with its tags and
  concurrency, which place runs and show the fleet: services/workers.py) and
  fails the RUNNING rows of workers silent for longer than the lost-after
  interval (they died and have not come back).
- Stopped gracefully, it removes its heartbeat: it is no longer a live
  worker to place runs on, rather than seeming one until it falls silent.

Both end rows FAILED with WORKER_LOST through services/executions, which
keeps what they printed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from core.settings import Settings
from models.executions import WorkerHeartbeat
from sandbox import DockerSandbox
from services.executions.lifecycle import ExecutionLifecycle

log = logging.getLogger(__name__)


class Liveness:
    def __init__(
        self,
        name: str,
        settings: Settings,
        lifecycle: ExecutionLifecycle,
        sandbox: DockerSandbox,
        tags: tuple[str, ...] = (),
    ) -> None:
        self._name = name
        self._tags = list(tags)
        self._settings = settings
        self._lifecycle = lifecycle
        self._sandbox = sandbox

    async def beat(self) -> None:
        now = datetime.now(UTC)
        said = {"tags": self._tags, "concurrency": max(1, self._settings.worker_concurrency)}
        updated = await WorkerHeartbeat.filter(name=self._name).update(last_seen=now, **said)
        if not updated:
            await WorkerHeartbeat.update_or_create(
                name=self._name, defaults={"last_seen": now, "started_at": now, **said}
            )

    async def leave(self) -> None:
        """A graceful stop: no longer live, so no run is placed here meanwhile."""
        try:
            await WorkerHeartbeat.filter(name=self._name).delete()
        except Exception:
            log.exception("removing the heartbeat of worker %s failed", self._name)

    async def recover_lost_executions(self) -> int:
        """RUNNING rows of this worker are left from a crash: no process runs
        them any more. Their containers are removed by label."""
        lost = await self._lifecycle.fail_lost(await self._lifecycle.running_on(self._name))
        reaped = await self._sandbox.reap(self._name)
        if lost or reaped:
            log.warning(
                "recovered %d lost executions and removed %d containers of worker %s",
                lost,
                reaped,
                self._name,
            )
        return lost

    async def run(self) -> None:
        """Say we are alive, and sweep up after workers that are not.

        Two loops, so that a slow sweep (it reads each lost run's output and
        archives it) never delays this worker's own heartbeat: a late beat
        would make a live worker look dead to the others, and they would fail
        its runs in turn."""
        async with asyncio.TaskGroup() as loops:
            loops.create_task(self._every_interval(self.beat, "heartbeat"))
            loops.create_task(self._every_interval(self.sweep_dead_workers, "sweep"))

    async def _every_interval(self, step: Callable[[], Awaitable[object]], what: str) -> None:
        interval = self._settings.worker_heartbeat_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await step()
            except Exception:
                log.exception("%s of worker %s failed", what, self._name)

    async def sweep_dead_workers(self) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=self._settings.worker_lost_after_seconds)
        alive = {
            str(name)
            for name in await WorkerHeartbeat.filter(last_seen__gte=cutoff).values_list(
                "name", flat=True
            )
        }
        orphans = await self._lifecycle.running_elsewhere(alive, started_before=cutoff)
        if not orphans:
            return 0
        failed = await self._lifecycle.fail_lost(orphans)
        if failed:
            log.warning("failed %d executions of workers silent since %s", failed, cutoff)
        return failed
