"""Why a QUEUED execution is not running yet, told to the person waiting.

`waiting_for` asks each check of `REASONS` in turn and answers the first
reason one gives. A check looks at one row and says why it waits, or None;
a new cause of waiting is one more check in the list. A reason the claim
(services/executions/queue.py) enforces is told here as the claim sees it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tortoise.expressions import Q

from core.settings import Settings
from core.statuses import ExecutionStatus
from models.batches import Batch
from models.executions import Execution
from models.tree import Script
from services.workers import live_workers_with

ReasonCheck = Callable[[Execution, Settings], Awaitable[str | None]]


async def no_live_worker_with_target(row: Execution, settings: Settings) -> str | None:
    """Its required tag is carried by no live worker: it waits for one to start."""
    if row.target is None or await live_workers_with(settings, row.target):
        return None
    return f"No live worker has the tag '{row.target}'."


async def retry_backoff(row: Execution, settings: Settings) -> str | None:
    """A retry waits out its backoff before any worker may claim it."""
    if row.not_before is None or row.not_before <= datetime.now(UTC):
        return None
    return f"A retry's backoff: attempt {row.attempt} starts at {row.not_before.isoformat()}."


async def script_concurrency_limit(row: Execution, settings: Settings) -> str | None:
    """Its script runs `max_concurrent_runs` already, or older runs of it
    wait ahead (they start in order)."""
    if row.script_id is None:
        return None  # unsaved code: no script, no limit
    script = await Script.get_or_none(id=row.script_id).only("id", "max_concurrent_runs")
    limit = None if script is None else script.max_concurrent_runs
    if limit is None:
        return None
    running = await Execution.filter(
        script_id=row.script_id, status=ExecutionStatus.RUNNING
    ).count()
    # As the claim counts them: rows still in a retry's backoff wait apart.
    ahead = await Execution.filter(
        Q(not_before=None) | Q(not_before__lte=datetime.now(UTC)),
        script_id=row.script_id,
        status=ExecutionStatus.QUEUED,
        queued_at__lt=row.queued_at,
    ).count()
    if running < limit and ahead == 0:
        return None
    return (
        f"The script's concurrency limit: {running} of at most {limit} running, "
        f"{ahead} queued ahead."
    )


async def batch_concurrency_limit(row: Execution, settings: Settings) -> str | None:
    """Its batch runs its `concurrency` already."""
    if row.batch_id is None:
        return None
    batch = await Batch.get_or_none(id=row.batch_id)
    if batch is None:
        return None
    running = await Execution.filter(batch_id=row.batch_id, status=ExecutionStatus.RUNNING).count()
    if running < batch.concurrency:
        return None
    return f"The batch's concurrency: {running} of at most {batch.concurrency} running."


async def earlier_schedule_run(row: Execution, settings: Settings) -> str | None:
    """A run of a schedule whose overlap policy is QUEUE waits for the
    earlier runs of its schedule to end."""
    if not row.waits_for_schedule or row.schedule_id is None:
        return None
    earlier = await Execution.filter(
        schedule_id=row.schedule_id,
        status__in=[ExecutionStatus.QUEUED, ExecutionStatus.RUNNING],
        queued_at__lt=row.queued_at,
    ).count()
    if earlier == 0:
        return None
    return f"An earlier run of its schedule has not ended ({earlier}; overlap QUEUE)."


REASONS: list[ReasonCheck] = [
    retry_backoff,
    no_live_worker_with_target,
    script_concurrency_limit,
    batch_concurrency_limit,
    earlier_schedule_run,
]


async def waiting_for(row: Execution, settings: Settings) -> str | None:
    """The first reason a QUEUED row waits; None when it does not wait (any
    other status) or waits only for a free worker slot."""
    if row.status is not ExecutionStatus.QUEUED:
        return None
    for check in REASONS:
        reason = await check(row, settings)
        if reason is not None:
            return reason
    return None
