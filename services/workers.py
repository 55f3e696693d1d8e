"""The fleet: which workers are alive, what they carry, what they run.

A worker is live while its heartbeat is younger than the lost-after interval
(worker/liveness.py writes it, with its tags and concurrency). Placement
reads this table, never a worker's memory: the API process and the workers
may be different machines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.functions import Count

from core.settings import Settings
from core.statuses import ExecutionStatus
from models.executions import Execution, WorkerHeartbeat
from services.access import Caller, require_admin


@dataclass(frozen=True)
class WorkerState:
    name: str
    # Its name first: every worker carries its own name as a tag.
    tags: list[str]
    last_heartbeat_at: datetime
    running: int
    concurrency: int


def tags_of(row: WorkerHeartbeat) -> list[str]:
    return list(dict.fromkeys([row.name, *(row.tags or [])]))


async def live_workers(settings: Settings) -> list[WorkerHeartbeat]:
    """Workers heard from within the lost-after interval, by name."""
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.worker_lost_after_seconds)
    return await WorkerHeartbeat.filter(last_seen__gte=cutoff).order_by("name")


async def live_workers_with(settings: Settings, tag: str) -> list[WorkerHeartbeat]:
    """Live workers carrying `tag`, by name. The tags are a JSON list, read
    and matched here: a fleet is small, and both dialects then agree."""
    return [row for row in await live_workers(settings) if tag in tags_of(row)]


async def fleet(caller: Caller, settings: Settings) -> list[WorkerState]:
    """Admins: the live workers, with how many runs each has now."""
    require_admin(caller, "list the workers")
    rows = await live_workers(settings)
    counts = (
        await Execution.filter(status=ExecutionStatus.RUNNING, worker__in=[r.name for r in rows])
        .annotate(running=Count("id"))
        .group_by("worker")
        .values_list("worker", "running")
    )
    running = {str(name): int(count) for name, count in counts}
    return [
        WorkerState(
            name=row.name,
            tags=tags_of(row),
            last_heartbeat_at=row.last_seen,
            running=running.get(row.name, 0),
            concurrency=row.concurrency,
        )
        for row in rows
    ]
