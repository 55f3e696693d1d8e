"""The durable queue is the executions table: claiming the oldest QUEUED row
(QUEUED → RUNNING, for services/executions/lifecycle.py only) that this
worker may run: its batch has room, and it requires no tag or one of the
worker's (core/worker_tags.py).

One statement in both dialects (see `_CLAIM`): the claim is on the path of
every run, and each round trip to the database is paid there."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from tortoise import connections

from core.statuses import ExecutionStatus, check_move
from models.executions import Execution

QUEUED, RUNNING = ExecutionStatus.QUEUED, ExecutionStatus.RUNNING


# The batches whose running executions already reach their concurrency: their
# queued executions wait. Both dialects accept the same text but for the
# placeholders and the row lock.
_FULL_BATCHES = """
    SELECT r.batch_id FROM executions r JOIN batches b ON b.id = r.batch_id
    WHERE r.status = {running}
    GROUP BY r.batch_id, b.concurrency
    HAVING count(*) >= b.concurrency
"""

# One round trip: pick the oldest claimable row, move it to RUNNING and
# return all of it. PostgreSQL locks the pick with SKIP LOCKED (as Windmill
# claims its jobs), so many workers claim different rows without waiting on
# each other; SQLite has one writer, and the outer status condition keeps
# the UPDATE conditional all the same.
_CLAIM = """
    WITH full_batches AS ({full_batches})
    UPDATE executions SET status = {running}, worker = {worker}, started_at = {now}
    WHERE status = {queued} AND id = (
        SELECT id FROM executions
        WHERE status = {queued}
          AND (batch_id IS NULL OR batch_id NOT IN (SELECT batch_id FROM full_batches))
          AND (target IS NULL OR target IN ({worker_tags}))
        ORDER BY queued_at
        LIMIT 1 {lock}
    )
    RETURNING *
"""


# The worker's tags travel as one parameter, a JSON array, which each
# dialect unpacks into rows: one statement whatever the number of tags.
_TAGS_OF = {
    "postgres": "SELECT jsonb_array_elements_text({tags}::text::jsonb)",
    "sqlite": "SELECT value FROM json_each({tags})",
}


def claim_statement(dialect: str) -> str:
    """The claim's SQL for `dialect`; parameters: worker, now, running,
    queued, and the worker's tags as a JSON array."""
    if dialect == "postgres":
        marks = {"worker": "$1", "now": "$2", "running": "$3", "queued": "$4", "tags": "$5"}
        lock = "FOR UPDATE SKIP LOCKED"
    else:
        marks = {"worker": "?1", "now": "?2", "running": "?3", "queued": "?4", "tags": "?5"}
        lock = ""
    full_batches = _FULL_BATCHES.format(**marks)
    worker_tags = _TAGS_OF["postgres" if dialect == "postgres" else "sqlite"].format(**marks)
    return _CLAIM.format(full_batches=full_batches, worker_tags=worker_tags, lock=lock, **marks)


async def claim_next_execution(worker: str, tags: Iterable[str]) -> Execution | None:
    """The oldest QUEUED row whose batch has room and whose target is None
    or one of `tags`, now RUNNING on `worker`."""
    check_move(QUEUED, RUNNING)
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    # As Tortoise writes a timestamp, so it reads back like every other.
    now = Execution._meta.fields_map["started_at"].to_db_value(datetime.now(UTC), Execution)
    rows = await connection.execute_query_dict(
        claim_statement(dialect),
        [worker, now, RUNNING.value, QUEUED.value, json.dumps(list(tags))],
    )
    if not rows:
        return None
    return Execution._init_from_db(**rows[0])
