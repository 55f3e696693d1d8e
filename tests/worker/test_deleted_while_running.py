"""A run whose execution row is deleted while it runs (with its script, its
folder or its owner) is stopped: nothing is left to record its end in, and
running on would only hold a worker slot and a container. Its followers see
it end."""

from __future__ import annotations

import time

from tests.support.client import GraphQLClient
from tests.support.runs import RUN
from tests.support.tree import script
from tests.support.ws import subscription_client

# Prints for far longer than the test may take.
PRINTS_FOR_MINUTES = (
    "import time\nwhile True:\n    print('still here', flush=True)\n    time.sleep(0.05)\n"
)
UPDATES = "subscription($id: ID!) { executionUpdates(executionId: $id) { seq status stream } }"
DELETE_SCRIPT = "mutation($id: ID!) { deleteScript(id: $id) }"
STOPPED_WITHIN_SECONDS = 30


async def test_deleting_the_script_of_a_running_run_stops_the_run(alice: GraphQLClient) -> None:
    created = await script(alice, "doomed.py", PRINTS_FOR_MINUTES)
    variables = {"input": {"scriptId": created["id"], "wait": False, "timeoutSeconds": 600}}
    execution = (await alice.data(RUN, variables))["runScript"]
    deleted_at: float | None = None
    statuses: list[str] = []
    async with subscription_client(alice.base_url, alice.token) as ws:
        async for event in ws.events(UPDATES, {"id": execution["id"]}):
            update = event["executionUpdates"]
            statuses.append(update["status"])
            if deleted_at is None and update["stream"] is not None:
                # It runs and prints: now its script (and the row) go.
                deleted = await alice.data(DELETE_SCRIPT, {"id": created["id"]})
                assert deleted["deleteScript"] is True
                deleted_at = time.monotonic()
            if deleted_at is not None:
                assert time.monotonic() - deleted_at < STOPPED_WITHIN_SECONDS, "it runs on"
    assert deleted_at is not None, statuses
    assert statuses[-1] == "CANCELLED", statuses[-3:]
