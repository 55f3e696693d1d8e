"""Output past SCRIPTBOX_OUTPUT_INLINE_BYTES, against the served process in
both shapes: in the scale-out one the worker process stores it and the API
process reads it back, from the object store they share."""

from __future__ import annotations

from tests.services.test_large_output import CHATTY, EXPECTED, LINES
from tests.support.client import GraphQLClient
from tests.support.runs import GET, RUN, UPDATES
from tests.support.tree import script
from tests.support.ws import subscription_client


async def test_large_output_is_shown_whole_after_the_run(alice: GraphQLClient) -> None:
    created = await script(alice, "chatty.py", CHATTY)
    variables = {"input": {"scriptId": created["id"], "input": {"lines": LINES}, "wait": True}}
    done = (await alice.data(RUN, variables))["runScript"]
    assert done["status"] == "SUCCEEDED", done
    assert (done["stdout"], done["stderr"]) == (EXPECTED, "to stderr\n")
    again = (await alice.data(GET, {"id": done["id"]}))["execution"]
    assert (again["stdout"], again["stderr"]) == (EXPECTED, "to stderr\n")
    # A subscriber that comes after the end is shown all of it too.
    async with subscription_client(alice.base_url, alice.token) as ws:
        events = await ws.collect(UPDATES, {"id": done["id"]}, timeout=120)
    updates = [e["executionUpdates"] for e in events]
    assert "".join(u["data"] for u in updates if u["stream"] == "STDOUT") == EXPECTED
    assert updates[-1]["status"] == "SUCCEEDED"
