"""The claim against a script's `maxConcurrentRuns` and a batch's
`concurrency` when two workers claim at the same moment on PostgreSQL, where
each statement sees the queue as it was when it began and skips the rows
another claim locked. For a script, the order of the queue alone cannot keep
them apart when their clocks differ: a retry due for one worker and not yet
for the other makes them pick different rows of one script. For a batch,
nothing in the order does: the second claim skips the first's row and takes
the next. The slots' unique indexes must: the second claim waits on the
first's slot and then fails."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from core.languages import Language
from core.statuses import ExecutionStatus
from models.batches import Batch
from models.executions import Execution
from models.tree import Script
from models.users import User
from services.executions.lifecycle import new_execution
from services.executions.queue import claim_statement
from tests.support.servers import Service

QUEUED, RUNNING = ExecutionStatus.QUEUED.value, ExecutionStatus.RUNNING.value
TAG = "claim-race"
TAGS = json.dumps([TAG])


pytestmark = pytest.mark.parametrize("service", ["postgres"], indirect=True)
# The rows require TAG, carried by the two claimers here and by no worker of
# the service, whose own worker would otherwise claim them first.


async def test_two_claims_with_different_clocks_run_one(service: Service) -> None:
    database = service.settings.database_url
    owner = await User.create(
        id=uuid.uuid4(), username=f"racer-{uuid.uuid4().hex[:8]}", password_hash="-"
    )
    script = await Script.create(
        id=uuid.uuid4(),
        owner_id=owner.id,
        parent_key="root",
        name="one.py",
        language=Language.PYTHON,
        max_concurrent_runs=1,
    )
    now = datetime.now(UTC)
    # The older row is a retry due in a minute; the newer one is due now.
    retry = new_execution(owner.id, script, "{}", 10, target=TAG)
    retry.queued_at, retry.not_before = now - timedelta(seconds=2), now + timedelta(minutes=1)
    fresh = new_execution(owner.id, script, "{}", 10, target=TAG)
    fresh.queued_at = now - timedelta(seconds=1)
    await Execution.bulk_create([retry, fresh])

    statement = claim_statement("postgres")
    late = await asyncpg.connect(database)  # its clock is past the retry's backoff
    early = await asyncpg.connect(database)  # its clock is not
    # Apart: a transaction sees pg_stat_activity as it was when first read.
    watcher = await asyncpg.connect(database)
    try:
        in_first = late.transaction()
        await in_first.start()
        claimed = await late.fetch(
            statement, "late", now + timedelta(minutes=2), RUNNING, QUEUED, TAGS
        )
        assert [str(r["id"]) for r in claimed] == [str(retry.id)]

        second = asyncio.create_task(early.fetch(statement, "early", now, RUNNING, QUEUED, TAGS))
        # The second claim reads the queue before the first commits, so it
        # sees nothing running; it picks the newer row and, wanting the same
        # run slot, waits on the first's uncommitted one.
        while not await _waits_on_a_lock(watcher, early.get_server_pid()):
            assert not second.done(), await second
            await asyncio.sleep(0.02)
        await in_first.commit()
        # A worker's claim takes the violation as "try again".
        with contextlib.suppress(asyncpg.UniqueViolationError):
            await second
    finally:
        for connection in (late, early, watcher):
            await connection.close()

    running = await Execution.filter(script_id=script.id, status=RUNNING).count()
    assert running == 1


async def test_two_claims_of_one_batch_run_within_its_concurrency(service: Service) -> None:
    database = service.settings.database_url
    owner = await User.create(
        id=uuid.uuid4(), username=f"batcher-{uuid.uuid4().hex[:8]}", password_hash="-"
    )
    script = await Script.create(
        id=uuid.uuid4(), owner_id=owner.id, parent_key="root", name="each.py", language="python"
    )
    batch = await Batch.create(
        id=uuid.uuid4(), owner_id=owner.id, script_id=script.id, concurrency=1, size=2, target=TAG
    )
    now = datetime.now(UTC)
    rows = [new_execution(owner.id, script, "{}", 10, batch_id=batch.id, target=TAG) for _ in "ab"]
    rows[0].queued_at, rows[1].queued_at = now - timedelta(seconds=2), now - timedelta(seconds=1)
    await Execution.bulk_create(rows)

    statement = claim_statement("postgres")
    first, second = await asyncpg.connect(database), await asyncpg.connect(database)
    watcher = await asyncpg.connect(database)
    try:
        in_first = first.transaction()
        await in_first.start()
        claimed = await first.fetch(statement, "first", now, RUNNING, QUEUED, TAGS)
        assert [str(r["id"]) for r in claimed] == [str(rows[0].id)]

        # It skips the first's locked row, counts nothing running in the
        # batch, takes the second row and wants the same batch slot.
        racing = asyncio.create_task(second.fetch(statement, "second", now, RUNNING, QUEUED, TAGS))
        while not await _waits_on_a_lock(watcher, second.get_server_pid()):
            assert not racing.done(), await racing
            await asyncio.sleep(0.02)
        await in_first.commit()
        with contextlib.suppress(asyncpg.UniqueViolationError):
            await racing
        # Tried again, as a worker does: the batch is full now.
        assert await second.fetch(statement, "second", now, RUNNING, QUEUED, TAGS) == []
    finally:
        for connection in (first, second, watcher):
            await connection.close()

    running = await Execution.filter(batch_id=batch.id, status=RUNNING).count()
    assert running == 1


async def _waits_on_a_lock(connection: asyncpg.Connection, pid: int) -> bool:
    waiting = await connection.fetchval(
        "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
    )
    return bool(waiting)
