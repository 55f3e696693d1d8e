"""The durable queue is the executions table: claiming the oldest QUEUED row
(QUEUED → RUNNING, for services/executions/lifecycle.py only) that this
worker may run: it is due (a retry waits out its backoff), it requires no
tag or one of the worker's (core/worker_tags.py), and its batch, its script
(`max_concurrent_runs`) and its schedule (overlap QUEUE) have room.

One statement in both dialects (see `_CLAIM`): the claim is on the path of
every run, and each round trip to the database is paid there."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from tortoise import connections
from tortoise.exceptions import IntegrityError

from core.statuses import ExecutionStatus, check_move
from models.executions import Execution
from models.sql import parameter

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

_SCRIPT_LIMIT = "(SELECT s.max_concurrent_runs FROM scripts s WHERE s.id = e.script_id)"

# A row of a script with `max_concurrent_runs` waits while the script runs
# that many, and behind every older row of the script that is due: only the
# script's oldest due row is ever a candidate, so runs start in order and two
# workers never pick two rows of one script from the same view of the queue.
_SCRIPT_HAS_ROOM = """(
    {limit} IS NULL OR (
        (SELECT count(*) FROM executions r
         WHERE r.script_id = e.script_id AND r.status = {running}) < {limit}
        AND NOT EXISTS (
            SELECT 1 FROM executions o
            WHERE o.script_id = e.script_id AND o.status = {queued}
              AND (o.not_before IS NULL OR o.not_before <= {now})
              AND (o.queued_at < e.queued_at OR (o.queued_at = e.queued_at AND o.id < e.id))
        )
    )
)"""

# A schedule's run under the QUEUE overlap policy waits until the earlier
# runs of its schedule have ended.
_SCHEDULE_TURN = """(
    NOT e.waits_for_schedule OR NOT EXISTS (
        SELECT 1 FROM executions p
        WHERE p.schedule_id = e.schedule_id AND p.status IN ({queued}, {running})
          AND p.queued_at < e.queued_at
    )
)"""

# The lowest slot (`{slot}`) of the claimed row's script or batch (`{group}`)
# that no running row holds. The unique index on ({group}, {slot}) is what
# makes a limit hold on PostgreSQL, where a claim does not see another's
# uncommitted one: two claims that read the same running rows choose the same
# slot, and the second to write waits for the first and then fails.
_FREE_SLOT = """(
    SELECT min(f.n) FROM (
        SELECT 0 AS n
        UNION SELECT u.{slot} + 1 FROM executions u
        WHERE u.{group} = executions.{group} AND u.status = {running} AND u.{slot} IS NOT NULL
    ) f
    WHERE f.n NOT IN (
        SELECT t.{slot} FROM executions t
        WHERE t.{group} = executions.{group} AND t.status = {running} AND t.{slot} IS NOT NULL
    )
)"""

# A script's run slot: NULL for a script without a limit.
_RUN_SLOT = """CASE
    WHEN (SELECT s.max_concurrent_runs FROM scripts s WHERE s.id = executions.script_id) IS NULL
    THEN NULL
    ELSE {free_slot}
END"""

# A batch's slot: NULL for a run of no batch.
_BATCH_SLOT = "CASE WHEN executions.batch_id IS NULL THEN NULL ELSE {free_slot} END"

# One round trip: pick the oldest claimable row, move it to RUNNING and
# return all of it. PostgreSQL locks the pick with SKIP LOCKED (as Windmill
# claims its jobs), so many workers claim different rows without waiting on
# each other; SQLite has one writer, and the outer status condition keeps
# the UPDATE conditional all the same. A row waiting for a retry's backoff
# (`not_before`) is not claimable before its time.
_CLAIM = """
    WITH full_batches AS ({full_batches})
    UPDATE executions
    SET status = {running}, worker = {worker}, started_at = {now},
        run_slot = {run_slot}, batch_slot = {batch_slot}
    WHERE status = {queued} AND id = (
        SELECT e.id FROM executions e
        WHERE e.status = {queued}
          AND (e.not_before IS NULL OR e.not_before <= {now})
          AND (e.batch_id IS NULL OR e.batch_id NOT IN (SELECT batch_id FROM full_batches))
          AND (e.target IS NULL OR e.target IN ({worker_tags}))
          AND {script_has_room}
          AND {schedule_turn}
        ORDER BY e.queued_at
        LIMIT 1 {lock}
    )
    RETURNING *
"""

# A claim that lost the race for a slot is tried again at once: the next read
# sees the winner's row RUNNING.
CLAIM_TRIES = 3


# The worker's tags travel as one parameter, a JSON array, which each
# dialect unpacks into rows: one statement whatever the number of tags.
_TAGS_OF = {
    "postgres": "SELECT jsonb_array_elements_text({tags}::text::jsonb)",
    "sqlite": "SELECT value FROM json_each({tags})",
}


def claim_statement(dialect: str) -> str:
    """The claim's SQL for `dialect`; parameters: worker, now, running,
    queued, and the worker's tags as a JSON array."""
    names = ("worker", "now", "running", "queued", "tags")
    marks = {name: parameter(dialect, number) for number, name in enumerate(names, 1)}
    lock = "FOR UPDATE SKIP LOCKED" if dialect == "postgres" else ""
    return _CLAIM.format(
        full_batches=_FULL_BATCHES.format(**marks),
        worker_tags=_TAGS_OF["postgres" if dialect == "postgres" else "sqlite"].format(**marks),
        script_has_room=_SCRIPT_HAS_ROOM.format(limit=_SCRIPT_LIMIT, **marks),
        schedule_turn=_SCHEDULE_TURN.format(**marks),
        run_slot=_RUN_SLOT.format(
            free_slot=_FREE_SLOT.format(slot="run_slot", group="script_id", **marks)
        ),
        batch_slot=_BATCH_SLOT.format(
            free_slot=_FREE_SLOT.format(slot="batch_slot", group="batch_id", **marks)
        ),
        lock=lock,
        **marks,
    )


async def claim_next_execution(worker: str, tags: Iterable[str]) -> Execution | None:
    """The oldest QUEUED row that is due, whose target is None or one of
    `tags`, and whose batch, script and schedule have room, now RUNNING on
    `worker`."""
    check_move(QUEUED, RUNNING)
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    # As Tortoise writes a timestamp, so it reads back like every other.
    now = Execution._meta.fields_map["started_at"].to_db_value(datetime.now(UTC), Execution)
    parameters = [worker, now, RUNNING.value, QUEUED.value, json.dumps(list(tags))]
    for _ in range(CLAIM_TRIES):
        try:
            rows = await connection.execute_query_dict(claim_statement(dialect), parameters)
        except IntegrityError:
            continue
        return Execution._init_from_db(**rows[0]) if rows else None
    return None
