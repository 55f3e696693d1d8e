"""A schedule with a seconds field fires on its own in the served process
(the embedded scheduler, or the worker's in the scale-out shape)."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually
from tests.support.tree import script

CREATE = """
mutation($input: CreateScheduleInput!) { createSchedule(input: $input) { id cron nextRunAt } }
"""
FIRED = """
query($id: ID!) { executions(scheduleId: $id) { id status input result } }
"""


async def test_a_two_second_cron_runs_the_script(alice: GraphQLClient) -> None:
    created = await script(alice, "tick.py", "def main(data):\n    return {'seen': data}\n")
    schedule = (
        await alice.data(
            CREATE,
            {"input": {"scriptId": created["id"], "cron": "*/2 * * * * *", "input": {"k": 1}}},
        )
    )["createSchedule"]
    assert schedule["nextRunAt"]

    async def succeeded() -> list[dict[str, Any]]:
        executions = (await alice.data(FIRED, {"id": schedule["id"]}))["executions"]
        return [e for e in executions if e["status"] == "SUCCEEDED"]

    try:
        [first, *_] = await eventually(succeeded, "a scheduled execution that succeeded", 180)
        assert first["result"] == {"seen": {"k": 1}}
    finally:
        # Pass or fail, it stops firing every two seconds into the runs of
        # the tests that share this served process after it.
        paused = await alice.data(
            "mutation($id: ID!) { pauseSchedule(id: $id) { enabled } }", {"id": schedule["id"]}
        )
    assert paused["pauseSchedule"]["enabled"] is False
