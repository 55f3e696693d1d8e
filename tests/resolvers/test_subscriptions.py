"""Live status and output over WebSocket, in both GraphQL WebSocket protocols."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import websockets

from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually
from tests.support.runs import GET, RUN, UPDATES, run
from tests.support.tree import script
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, subscription_client

COUNTING = (
    "import time\n"
    "def main(data):\n"
    "    for i in range(data['n']):\n"
    "        print(f'line {i}', flush=True)\n"
    "        time.sleep(data.get('pause', 0))\n"
    "    return {'printed': data['n']}\n"
)


def assert_well_ordered(events: list[dict]) -> None:  # type: ignore[type-arg]
    seqs = [e["executionUpdates"]["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_live_output_then_terminal_then_complete(alice: GraphQLClient, protocol: str) -> None:
    execution = await run(alice, COUNTING, input={"n": 20, "pause": 0.05}, wait=False)
    async with subscription_client(alice.base_url, alice.token, protocol) as ws:
        events = await ws.collect(UPDATES, {"id": execution["id"]})
    assert_well_ordered(events)
    updates = [e["executionUpdates"] for e in events]
    output = "".join(u["data"] for u in updates if u["stream"] == "STDOUT")
    assert output == "".join(f"line {i}\n" for i in range(20))
    terminal = updates[-1]
    assert terminal["status"] == "SUCCEEDED"
    assert terminal["stream"] is None
    assert terminal["execution"]["result"] == {"printed": 20}
    assert all(u["execution"] is None for u in updates[:-1])


async def test_late_subscriber_gets_the_replay(alice: GraphQLClient) -> None:
    execution = await run(alice, COUNTING, input={"n": 5})  # already finished
    async with subscription_client(alice.base_url, alice.token) as ws:
        events = await ws.collect(UPDATES, {"id": execution["id"]})
    updates = [e["executionUpdates"] for e in events]
    assert [u["status"] for u in updates][:2] == ["QUEUED", "RUNNING"]
    assert "".join(u["data"] for u in updates if u["stream"]) == "".join(
        f"line {i}\n" for i in range(5)
    )
    assert updates[-1]["status"] == "SUCCEEDED"


async def test_subscriber_joining_mid_run_misses_nothing(alice: GraphQLClient) -> None:
    lines = 40
    execution = await run(alice, COUNTING, input={"n": lines, "pause": 0.1}, wait=False)
    # Join only once the script has printed (stored output), not before it starts.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = (await alice.data(GET, {"id": execution["id"]}))["execution"]
        if current["stdout"]:
            break
        await asyncio.sleep(0.05)
    assert current["stdout"].startswith("line 0\n"), current
    events: list[dict[str, Any]] = []
    async with subscription_client(alice.base_url, alice.token) as ws:
        async for event in ws.events(UPDATES, {"id": execution["id"]}):
            if not events:
                # Subscribed (the first event came) while the run still runs.
                joined = (await alice.data(GET, {"id": execution["id"]}))["execution"]
                assert joined["status"] == "RUNNING", joined
                assert f"line {lines - 1}\n" not in joined["stdout"], joined
            events.append(event)
    assert_well_ordered(events)
    text = "".join(e["executionUpdates"]["data"] or "" for e in events)
    assert text == "".join(f"line {i}\n" for i in range(lines))
    assert events[-1]["executionUpdates"]["status"] == "SUCCEEDED"


async def test_my_executions_pushes_status_changes(alice: GraphQLClient) -> None:
    created = await script(alice, "mine.py", "def main(data):\n    return 1\n")
    async with subscription_client(alice.base_url, alice.token) as ws:
        seen: list[tuple[str, str]] = []

        async def listen() -> None:
            async for event in ws.events("subscription { myExecutions { executionId status } }"):
                seen.append((event["myExecutions"]["executionId"], event["myExecutions"]["status"]))

        listener = asyncio.create_task(listen())

        # The protocol does not acknowledge a subscribe: the subscription is
        # live once it has delivered an event, so warm-up runs go first.
        async def live() -> bool:
            await alice.data(RUN, {"input": {"scriptId": created["id"], "wait": True}})
            return bool(seen)

        await eventually(live, "myExecutions delivers events")
        done = await alice.data(RUN, {"input": {"scriptId": created["id"], "wait": True}})
        execution_id = done["runScript"]["id"]

        async def finished() -> bool:
            return (execution_id, "SUCCEEDED") in seen

        await eventually(finished, "myExecutions pushes the run's end")
        listener.cancel()
    assert [s for i, s in seen if i == execution_id] == ["QUEUED", "RUNNING", "SUCCEEDED"]


async def test_other_users_cannot_subscribe(alice: GraphQLClient, bob: GraphQLClient) -> None:
    execution = await run(alice, COUNTING, input={"n": 1})
    async with subscription_client(bob.base_url, bob.token) as ws:
        with pytest.raises(AssertionError) as refused:
            await ws.collect(UPDATES, {"id": execution["id"]})
    assert "NOT_FOUND" in str(refused.value)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_missing_or_bad_token_closes_with_4403(
    alice: GraphQLClient, protocol: str, token: str | None
) -> None:
    url = alice.base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert message["type"] != "connection_ack"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_subscription_over_plain_http_gets_a_clear_error(alice: GraphQLClient) -> None:
    response = await alice.post("subscription { myExecutions { seq } }")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "SUBSCRIPTION_NEEDS_WEBSOCKET"
    assert "WebSocket" in error["message"]
    # Queries and mutations on the same URL are unaffected.
    assert (await alice.data("{ me { id } }"))["me"]["id"]


ENDED = """
status result exitCode stdout stderr outputTruncated error { code } image
startedAt finishedAt durationMs
resources { peakMemoryBytes cpuUserSeconds wallSeconds }
"""


async def test_the_terminal_event_shows_the_execution_as_stored(alice: GraphQLClient) -> None:
    """The process that ends a run hands its subscribers the finished row
    with the terminal event: what they see is what a read of it answers."""
    execution = await run(alice, COUNTING, input={"n": 3, "pause": 0.2}, wait=False)
    follow = f"""subscription($id: ID!) {{ executionUpdates(executionId: $id) {{
      seq status stream execution {{ {ENDED} }} }} }}"""
    async with subscription_client(alice.base_url, alice.token) as ws:
        events = await ws.collect(follow, {"id": execution["id"]})
    shown = events[-1]["executionUpdates"]["execution"]
    read = f"query($id: ID!) {{ execution(id: $id) {{ {ENDED} }} }}"
    stored = (await alice.data(read, {"id": execution["id"]}))["execution"]
    assert shown == stored
    assert shown["status"] == "SUCCEEDED" and shown["result"] == {"printed": 3}
