"""A worker's heartbeat keeps its pace while the same worker sweeps up after
dead ones: a sweep can be slow (it reads and archives each lost run's
output), and a beat held up behind it would make this live worker look dead
to the others, who would then fail its runs as WORKER_LOST."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from models.executions import WorkerHeartbeat
from tests.support.owners import owned_name
from tests.support.servers import Service
from worker.liveness import Liveness

pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

BEAT_SECONDS = 0.2
SWEEP_SECONDS = 4.0
# Ten beats: a silence this long means beats were missed, not merely late.
LOST_AFTER_SECONDS = 2.0


class SlowSweeper(Liveness):
    """A sweep that takes far longer than the lost-after interval."""

    async def sweep_dead_workers(self) -> int:
        await asyncio.sleep(SWEEP_SECONDS)
        return 0


async def test_a_slow_sweep_does_not_hold_up_the_heartbeat(service: Service) -> None:
    worker = service.process.worker
    assert worker is not None
    settings = replace(
        service.settings,
        worker_heartbeat_seconds=BEAT_SECONDS,
        worker_lost_after_seconds=LOST_AFTER_SECONDS,
    )
    name = owned_name("liveness-slow-sweep")
    liveness = SlowSweeper(name, settings, worker.lifecycle, worker._sandbox)
    running = asyncio.create_task(liveness.run())
    try:
        silences = []
        # Watch the heartbeat through a slow sweep and into the next.
        for _ in range(int(1.25 * SWEEP_SECONDS / BEAT_SECONDS)):
            await asyncio.sleep(BEAT_SECONDS)
            row = await WorkerHeartbeat.get_or_none(name=name)
            if row is not None:
                silences.append((datetime.now(UTC) - row.last_seen).total_seconds())
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await WorkerHeartbeat.filter(name=name).delete()
    assert silences, "the worker never wrote a heartbeat"
    assert max(silences) < settings.worker_lost_after_seconds, silences
