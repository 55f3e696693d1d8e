"""While a run prints, its output reaches the database in a few batches, not
a write per line, holding exactly what was streamed; when it ends, the
batches are gone and the execution row holds the output. A run deleted while
it prints (with its script) does not hold back the batches of the others."""

from __future__ import annotations

import asyncio
import time
import uuid

from core.statuses import ExecutionStatus
from models.executions import Execution, ExecutionOutput
from services.events import ExecutionEvent
from services.executions.output import persisted_output
from tests.support.client import GraphQLClient
from tests.support.runs import CANCEL, GET, run
from worker.output_journal import OutputJournal

# About 400 lines over two seconds, then a pause long enough to be cancelled in.
CHATTY = (
    "import time\n"
    "end = time.monotonic() + 2\n"
    "n = 0\n"
    "while time.monotonic() < end:\n"
    "    print(f'line {n}', flush=True)\n"
    "    n += 1\n"
    "    time.sleep(0.005)\n"
    "print('done', flush=True)\n"
    "time.sleep(120)\n"
)
# Two seconds of output at one batch per half second, and the batch after.
MAX_BATCHES = 10


async def test_output_is_written_in_batches_and_moved_to_the_row_at_the_end(
    alice: GraphQLClient,
) -> None:
    execution = await run(alice, CHATTY, wait=False, timeout=300)
    execution_id = execution["id"]
    deadline = time.monotonic() + 120
    streamed = ""
    while "done" not in streamed:
        assert time.monotonic() < deadline, streamed[-200:]
        streamed = (await alice.data(GET, {"id": execution_id}))["execution"]["stdout"]
        await asyncio.sleep(0.2)
    while (await persisted_output(execution_id)).stdout != streamed:
        assert time.monotonic() < deadline, "the output batches never caught up"
        await asyncio.sleep(0.2)

    lines = streamed.count("\n")
    batches = await ExecutionOutput.filter(execution_id=execution_id).count()
    assert lines > 50 and 1 <= batches <= MAX_BATCHES, (lines, batches)

    cancelled = (await alice.data(CANCEL, {"id": execution_id}))["cancelExecution"]
    assert cancelled["status"] == "CANCELLED"
    final = (await alice.data(GET, {"id": execution_id}))["execution"]
    assert final["stdout"] == streamed
    assert await ExecutionOutput.filter(execution_id=execution_id).count() == 0


async def test_a_batch_with_a_deleted_runs_output_still_writes_the_others(
    alice: GraphQLClient,
) -> None:
    """A run deleted while it prints (its script deleted) has no row for its
    output; the batch it shares with other runs is written without it, and
    what it prints afterwards is not kept, instead of the whole batch
    failing at every interval until that run ends."""
    kept = await run(alice, "print('kept')", name="kept.py")
    owner_id = str((await Execution.get(id=kept["id"])).owner_id)
    deleted = str(uuid.uuid4())  # an execution row that no longer exists
    journal = OutputJournal()

    def output(execution_id: str, seq: int, data: str) -> ExecutionEvent:
        return ExecutionEvent(execution_id, owner_id, seq, ExecutionStatus.RUNNING, "stdout", data)

    journal.record(output(deleted, 100, "gone 1\n"))
    journal.record(output(kept["id"], 100, "kept 1\n"))
    assert await journal.write_batch() == 1
    journal.record(output(deleted, 101, "gone 2\n"))
    journal.record(output(kept["id"], 101, "kept 2\n"))
    assert await journal.write_batch() == 1
    written = await ExecutionOutput.filter(execution_id=kept["id"]).order_by("seq")
    assert [row.data for row in written] == ["kept 1\n", "kept 2\n"]
    await journal.forget(kept["id"])
    await journal.forget(deleted)
    assert not await ExecutionOutput.filter(execution_id=kept["id"]).exists()
