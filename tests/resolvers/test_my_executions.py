"""`myExecutions` carries the caller's own executions only: two users
subscribe and both run; neither sees the other's events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.support.client import GraphQLClient
from tests.support.runs import TERMINAL
from tests.support.tree import script
from tests.support.ws import subscription_client

MY_EXECUTIONS = "subscription { myExecutions { executionId status } }"
RUN = "mutation($id: ID!) { runScript(input: {scriptId: $id}) { id } }"
DEADLINE = 120.0


class Listener:
    """One user's `myExecutions`, collected in the background."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.changed = asyncio.Condition()

    async def collect(self, events: AsyncIterator[dict[str, Any]]) -> None:
        async for event in events:
            async with self.changed:
                self.seen.append(event["myExecutions"])
                self.changed.notify_all()

    async def until_finished(self, execution_id: str) -> None:
        def finished() -> bool:
            return any(
                e["executionId"] == execution_id and e["status"] in TERMINAL for e in self.seen
            )

        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(finished), DEADLINE)


@asynccontextmanager
async def listening(client: GraphQLClient, probe_script: str) -> AsyncIterator[Listener]:
    """Subscribed, and shown to be: a probe run of its own has been seen."""
    listener = Listener()
    async with subscription_client(client.base_url, client.token) as socket:
        task = asyncio.create_task(listener.collect(socket.events(MY_EXECUTIONS, timeout=600)))
        try:
            # The subscription may not be registered yet when the first run
            # is queued: run probes until one is seen from the start.
            for _ in range(5):
                probe = (await client.data(RUN, {"id": probe_script}))["runScript"]["id"]
                await listener.until_finished(probe)
                queued = {"executionId": probe, "status": "QUEUED"}
                if queued in listener.seen:
                    break
            yield listener
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_each_subscriber_sees_only_its_own_executions(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    alice_script = await script(alice, "mine.py", "print('a')\n")
    bob_script = await script(bob, "mine.py", "print('b')\n")
    async with (
        listening(alice, alice_script["id"]) as alice_sees,
        listening(bob, bob_script["id"]) as bob_sees,
    ):
        # Both listen now; both run, at the same time.
        alice_run, bob_run = [
            body["runScript"]["id"]
            for body in await asyncio.gather(
                alice.data(RUN, {"id": alice_script["id"]}), bob.data(RUN, {"id": bob_script["id"]})
            )
        ]
        await asyncio.gather(alice_sees.until_finished(alice_run), bob_sees.until_finished(bob_run))
    alice_ids = {e["executionId"] for e in alice_sees.seen}
    bob_ids = {e["executionId"] for e in bob_sees.seen}
    assert alice_run in alice_ids and bob_run in bob_ids
    assert not alice_ids & bob_ids, (alice_sees.seen, bob_sees.seen)
    assert bob_run not in alice_ids and alice_run not in bob_ids
