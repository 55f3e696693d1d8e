"""Why a QUEUED execution is not running yet, in words for its owner.

Each reason is a check of its own; `waiting_for` answers the first that
holds, in the order of `REASON_CHECKS`. A reason the claim
(services/executions/queue.py) enforces is written here too, so that what
the claim does and what the user is told stay side by side."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tortoise.expressions import Q

from core.statuses import ExecutionStatus
from models.batches import Batch
from models.executions import Execution
from models.tree import Script

ReasonCheck = Callable[[Execution, datetime], Awaitable[str | None]]


async def retry_backoff(row: Execution, now: datetime) -> str | None:
    if row.not_before is None or row.not_before <= now:
        return None
    return f"retry backoff until {row.not_before.isoformat()} (attempt {row.attempt})"


async def script_concurrency_limit(row: Execution, now: datetime) -> str | None:
    script = await Script.get_or_none(id=row.script_id).only("id", "max_concurrent_runs")
    limit = None if script is None else script.max_concurrent_runs
    if limit is None:
        return None
    running = await Execution.filter(
        script_id=row.script_id, status=ExecutionStatus.RUNNING
    ).count()
    # As the claim counts them: rows still in a retry's backoff wait apart.
    ahead = await Execution.filter(
        Q(not_before=None) | Q(not_before__lte=now),
        script_id=row.script_id,
        status=ExecutionStatus.QUEUED,
        queued_at__lt=row.queued_at,
    ).count()
    if running < limit and ahead == 0:
        return None
    return (
        f"the script's concurrency limit: {running} of at most {limit} running, "
        f"{ahead} queued ahead"
    )


async def batch_concurrency_limit(row: Execution, now: datetime) -> str | None:
    if row.batch_id is None:
        return None
    batch = await Batch.get_or_none(id=row.batch_id)
    if batch is None:
        return None
    running = await Execution.filter(batch_id=row.batch_id, status=ExecutionStatus.RUNNING).count()
    if running < batch.concurrency:
        return None
    return f"the batch's concurrency: {running} of at most {batch.concurrency} running"


async def earlier_schedule_run(row: Execution, now: datetime) -> str | None:
    if not row.waits_for_schedule or row.schedule_id is None:
        return None
    earlier = await Execution.filter(
        schedule_id=row.schedule_id,
        status__in=[ExecutionStatus.QUEUED, ExecutionStatus.RUNNING],
        queued_at__lt=row.queued_at,
    ).count()
    if earlier == 0:
        return None
    return f"an earlier run of its schedule ({earlier} not ended; overlap policy QUEUE)"


REASON_CHECKS: list[ReasonCheck] = [
    retry_backoff,
    script_concurrency_limit,
    batch_concurrency_limit,
    earlier_schedule_run,
]


async def waiting_for(row: Execution) -> str | None:
    """The first reason a QUEUED row waits; None when it runs, ended, or is
    simply next for a free worker."""
    if row.status is not ExecutionStatus.QUEUED:
        return None
    now = datetime.now(UTC)
    for check in REASON_CHECKS:
        reason = await check(row, now)
        if reason is not None:
            return reason
    return None
