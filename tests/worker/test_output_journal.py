"""While a run prints, its output reaches the database in a few batches, not
a write per line, holding exactly what was streamed; when it ends, the
batches are gone and the execution row holds the output."""

from __future__ import annotations

import asyncio
import time

from models.executions import ExecutionOutput
from services.executions.output import persisted_output
from tests.support.client import GraphQLClient
from tests.support.runs import CANCEL, GET, run

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
