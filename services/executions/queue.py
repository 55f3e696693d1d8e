"""The durable queue is the executions table: claiming the oldest QUEUED row
(QUEUED → RUNNING, for services/executions/lifecycle.py only).

PostgreSQL: one statement with `FOR UPDATE SKIP LOCKED` (as Windmill claims
its jobs), so many workers claim different rows without waiting on each
other. SQLite (one process): a conditional UPDATE per candidate."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise import connections

from core.statuses import ExecutionStatus, check_move
from models.batches import Batch
from models.executions import Execution

CANDIDATES = 32
QUEUED, RUNNING = ExecutionStatus.QUEUED, ExecutionStatus.RUNNING


async def batches_at_concurrency() -> set[str]:
    """Batches whose running executions already reach their concurrency."""
    running = await Execution.filter(status=RUNNING, batch_id__not_isnull=True).values_list(
        "batch_id", flat=True
    )
    if not running:
        return set()
    counts: dict[str, int] = {}
    for batch_id in running:
        counts[str(batch_id)] = counts.get(str(batch_id), 0) + 1
    limits = {
        str(batch_id): int(concurrency)
        for batch_id, concurrency in await Batch.filter(id__in=list(counts)).values_list(
            "id", "concurrency"
        )
    }
    return {b for b, n in counts.items() if n >= limits.get(b, 1)}


async def claim_next_execution(worker: str) -> Execution | None:
    check_move(QUEUED, RUNNING)
    full_batches = await batches_at_concurrency()
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        return await _claim_skip_locked(worker, full_batches)
    return await _claim_conditional(worker, full_batches)


async def _claim_skip_locked(worker: str, full_batches: set[str]) -> Execution | None:
    connection = connections.get("default")
    exclude = ""
    params: list[object] = [worker, datetime.now(UTC), RUNNING.value, QUEUED.value]
    if full_batches:
        exclude = "AND (batch_id IS NULL OR NOT (batch_id = ANY($5::uuid[])))"
        params.append(sorted(full_batches))
    rows = await connection.execute_query_dict(
        f"""
        UPDATE executions SET status = $3, worker = $1, started_at = $2
        WHERE id = (
            SELECT id FROM executions
            WHERE status = $4 {exclude}
            ORDER BY queued_at
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        )
        RETURNING id
        """,
        params,
    )
    if not rows:
        return None
    return await Execution.get(id=rows[0]["id"])


async def _claim_conditional(worker: str, full_batches: set[str]) -> Execution | None:
    candidates = (
        await Execution.filter(status=QUEUED)
        .order_by("queued_at")
        .limit(CANDIDATES)
        .values_list("id", "batch_id")
    )
    for execution_id, batch_id in candidates:
        if batch_id is not None and str(batch_id) in full_batches:
            continue
        claimed = await Execution.filter(id=execution_id, status=QUEUED).update(
            status=RUNNING, worker=worker, started_at=datetime.now(UTC)
        )
        if claimed == 1:
            return await Execution.get(id=execution_id)
    return None
