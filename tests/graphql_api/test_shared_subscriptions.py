"""Subscriptions executed once for many subscribers (graphql_api/shared_streams.py),
seen from the sockets: subscribers who may see different things get
different answers to the same document and variables; every subscriber gets
every event, in order, also late ones; and access taken from one subscriber
ends its stream and nobody else's, the first subscriber's included.

Each test runs its own `scriptbox serve` with one worker slot, held by an
endless script while the subscribers connect, so that everything the run
does reaches them live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.busy_worker import busy_worker, queue, reaches
from tests.support.client import GraphQLClient, registered
from tests.support.processes import own_service
from tests.support.tree import folder, script
from tests.support.ws import RawSocket, error_codes, raw_socket

CREATE_TOKEN = """
mutation($n: String!, $s: [TokenScope!]!, $f: String) {
  createApiToken(name: $n, scopes: $s, folderPath: $f) { token apiToken { id } } }
"""
REVOKE = "mutation($id: ID!) { revokeApiToken(id: $id) }"
MOVE_SCRIPT = "mutation($id: ID!, $to: ID) { moveScript(id: $id, folderId: $to) { id } }"
FOLLOW = """
subscription($id: ID!) { executionUpdates(executionId: $id) {
  seq status stream data execution { status script { path } }
} }
"""
LINES = 30
PRINTER = (
    "import time\n"
    "def main(data):\n"
    f"    for i in range({LINES}):\n"
    "        print(f'line {i}', flush=True)\n"
    "        time.sleep(0.01)\n"
    "    return 'done'\n"
)
PRINTED = "".join(f"line {i}\n" for i in range(LINES))


@asynccontextmanager
async def served_user(tmp_path: Path) -> AsyncIterator[GraphQLClient]:
    async with (
        own_service(tmp_path, SCRIPTBOX_WORKER_CONCURRENCY="1") as served,
        httpx.AsyncClient(timeout=120) as http,
    ):
        yield await registered(GraphQLClient(served.url, None, http), "shared")


async def token_of(client: GraphQLClient, folder_path: str | None = None) -> tuple[str, str]:
    """A new API token of `client`'s (READ and RUN), and its id."""
    data = await client.data(CREATE_TOKEN, {"n": "ws", "s": ["READ", "RUN"], "f": folder_path})
    made = data["createApiToken"]
    return str(made["token"]), str(made["apiToken"]["id"])


async def subscribed(stack: AsyncExitStack, url: str, token: str, run_id: str) -> RawSocket:
    """A socket of its own with FOLLOW live on `run_id` (its first event read)."""
    socket = await stack.enter_async_context(raw_socket(url, token))
    await socket.send_operation("follow", FOLLOW, {"id": run_id})
    first = await socket.next_message()
    assert first["type"] == "next", first
    assert first["payload"]["data"]["executionUpdates"]["seq"] == 0, first
    return socket


async def rest_of(socket: RawSocket) -> list[dict[str, Any]]:
    """The events after the first, until the operation completes."""
    events = []
    while (message := await socket.next_message(timeout=120))["type"] == "next":
        assert not message["payload"].get("errors"), message
        events.append(message["payload"]["data"]["executionUpdates"])
    assert message == {"id": "follow", "type": "complete"}, message
    return events


def printed(events: list[dict[str, Any]]) -> str:
    return "".join(e["data"] for e in events if e["stream"] == "STDOUT")


def seqs_follow_on(events: list[dict[str, Any]], start: int) -> bool:
    return [e["seq"] for e in events] == list(range(start, start + len(events)))


async def test_subscribers_who_see_different_things_get_different_answers(
    tmp_path: Path,
) -> None:
    async with served_user(tmp_path) as alice, AsyncExitStack() as stack:
        assert alice.token is not None
        geology = await folder(alice, "geology")
        job = await script(alice, "job.py", PRINTER, geology["id"])
        # A token that reaches the geology folder only.
        held, _ = await token_of(alice, folder_path="geology")
        async with busy_worker(alice):
            run_id = await queue(alice, job["id"])
            # The same document and variables, the same person: two sessions
            # and two sockets through the held token.
            sessions = [await subscribed(stack, alice.base_url, alice.token, run_id)]
            tokens = [await subscribed(stack, alice.base_url, held, run_id)]
            sessions.append(await subscribed(stack, alice.base_url, alice.token, run_id))
            tokens.append(await subscribed(stack, alice.base_url, held, run_id))
            # Out of geology: the held token no longer reaches the script or
            # its runs; the person still does.
            await alice.data(MOVE_SCRIPT, {"id": job["id"], "to": None})
        for socket in sessions:
            events = await rest_of(socket)
            assert events[-1]["execution"] == {"status": "SUCCEEDED", "script": {"path": "job.py"}}
            assert printed(events) == PRINTED
        for socket in tokens:
            events = await rest_of(socket)
            assert events[-1]["status"] == "SUCCEEDED"
            assert events[-1]["execution"] is None
            assert printed(events) == PRINTED


async def test_every_subscriber_gets_every_event_in_order_late_ones_too(tmp_path: Path) -> None:
    async with served_user(tmp_path) as alice, AsyncExitStack() as stack:
        assert alice.token is not None
        job = await script(alice, "job.py", PRINTER)
        other, _ = await token_of(alice)
        async with busy_worker(alice):
            run_id = await queue(alice, job["id"])
            early = [
                await subscribed(stack, alice.base_url, token, run_id)
                for token in [alice.token] * 6 + [other] * 6
            ]
        # One more while it prints, and one after it ended: each replays
        # from the start, then follows live.
        await reaches(alice, run_id, "RUNNING", deadline=120)
        while_running = await subscribed(stack, alice.base_url, alice.token, run_id)
        outcomes = await asyncio.gather(*(rest_of(s) for s in [*early, while_running]))
        await reaches(alice, run_id, "SUCCEEDED", deadline=120)
        after_end = await subscribed(stack, alice.base_url, other, run_id)
        outcomes.append(await rest_of(after_end))
        for events in outcomes:
            assert seqs_follow_on(events, 1)
            assert printed(events) == PRINTED
            assert events[-1]["execution"] == {"status": "SUCCEEDED", "script": {"path": "job.py"}}
        # Everyone saw the same events (what was printed may be cut into
        # events differently only across a replay, never here).
        assert all(json.dumps(e) == json.dumps(outcomes[0]) for e in outcomes)


async def test_revoking_one_token_ends_its_stream_and_no_other(tmp_path: Path) -> None:
    async with served_user(tmp_path) as alice, AsyncExitStack() as stack:
        assert alice.token is not None
        job = await script(alice, "job.py", PRINTER)
        # Two tokens of one person with the same scopes: one visibility
        # class, so one shared stream, started by the first one's socket.
        first, first_id = await token_of(alice)
        second, _ = await token_of(alice)
        async with busy_worker(alice):
            run_id = await queue(alice, job["id"])
            revoked = await subscribed(stack, alice.base_url, first, run_id)
            kept = [await subscribed(stack, alice.base_url, second, run_id) for _ in range(3)]
            await alice.data(REVOKE, {"id": first_id})
            code, before = await revoked.closed_with(timeout=30)
            assert code == 4403
            assert [error_codes(m) for m in before if m["type"] == "error"] == [["UNAUTHENTICATED"]]
        for socket in kept:
            events = await rest_of(socket)
            assert seqs_follow_on(events, 1)
            assert printed(events) == PRINTED
            assert events[-1]["execution"] == {"status": "SUCCEEDED", "script": {"path": "job.py"}}
