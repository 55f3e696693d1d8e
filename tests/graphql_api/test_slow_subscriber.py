"""A subscriber that stops reading while a script prints a lot is cut off
with SUBSCRIBER_TOO_SLOW instead of the service buffering for it without
bound, and a fresh subscription replays everything that was printed.

The service runs as `scriptbox serve` with a small
SCRIPTBOX_SUBSCRIBER_QUEUE_LIMIT. The slow client is a real WebSocket client
that stops reading: its library buffers one message, its socket a few KiB,
so the server's sends block and the events pile up in the bus's queue for
that subscriber until it overflows."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.busy_worker import busy_worker, queue, reaches
from tests.support.client import GraphQLClient, registered
from tests.support.processes import own_service
from tests.support.runs import UPDATES
from tests.support.tree import script
from tests.support.ws import TRANSPORT_WS, subscription_client

LINES = 4000
LINE = "x" * 1000
# Alternating streams: every switch publishes an event of its own, so the
# script makes thousands of events, not the ~20 a second coalescing allows.
CHATTY = (
    "import sys\n"
    "def main(data):\n"
    f"    for i in range({LINES}):\n"
    "        stream = sys.stdout if i % 2 == 0 else sys.stderr\n"
    f"        print(f'{{i:06d}} {LINE}', file=stream, flush=True)\n"
    f"    return {{'printed': {LINES}}}\n"
)
PRINTED = {
    "STDOUT": "".join(f"{i:06d} {LINE}\n" for i in range(0, LINES, 2)),
    "STDERR": "".join(f"{i:06d} {LINE}\n" for i in range(1, LINES, 2)),
}


@asynccontextmanager
async def reluctant_socket(base_url: str, token: str) -> AsyncIterator[ClientConnection]:
    """An acknowledged graphql-transport-ws connection that reads only when
    told: the library holds at most one unread message and the socket's
    receive buffer is small, so not calling recv() soon stalls the server."""
    port = int(base_url.rsplit(":", 1)[1])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(
        url,
        sock=sock,
        subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
        max_queue=1,
        max_size=2**24,
        ping_interval=None,
    ) as ws:
        payload = {"authorization": f"Bearer {token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert ack["type"] == "connection_ack", ack
        yield ws


async def next_message(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 60))
    return message


async def test_a_subscriber_that_stops_reading_is_cut_off_and_can_replay(
    tmp_path: Path,
) -> None:
    async with (
        own_service(
            tmp_path,
            SCRIPTBOX_SUBSCRIBER_QUEUE_LIMIT="4",
            SCRIPTBOX_WORKER_CONCURRENCY="1",
            SCRIPTBOX_SANDBOX_OUTPUT_BYTES=str(4 * 2**20),
        ) as served,
        httpx.AsyncClient(timeout=120) as http,
    ):
        user = await registered(GraphQLClient(served.url, None, http), "slow")
        assert user.token is not None
        chatty_script = await script(user, "chatty.py", CHATTY)
        async with reluctant_socket(served.url, user.token) as ws:
            # The chatty run waits in the queue until the subscription is
            # live, so what it prints comes live, not as a replay.
            async with busy_worker(user):
                chatty = await queue(user, chatty_script["id"])
                payload = {"query": UPDATES, "variables": {"id": chatty}}
                subscribe = {"id": "slow", "type": "subscribe", "payload": payload}
                await ws.send(json.dumps(subscribe))
                first = await next_message(ws)
                assert first["payload"]["data"]["executionUpdates"]["status"] == "QUEUED"
            # From here on the client reads nothing until the run is over.
            await reaches(user, chatty, "SUCCEEDED", deadline=180)
            seen: dict[str, str] = {"STDOUT": "", "STDERR": ""}
            while (message := await next_message(ws))["type"] == "next" and not message[
                "payload"
            ].get("errors"):
                update = message["payload"]["data"]["executionUpdates"]
                assert update["execution"] is None, "the slow subscriber saw the end"
                if update["stream"]:
                    seen[update["stream"]] += update["data"]
            assert message["type"] == "next", message
            codes = [(e.get("extensions") or {}).get("code") for e in message["payload"]["errors"]]
            assert codes == ["SUBSCRIBER_TOO_SLOW"], message
            assert await next_message(ws) == {"id": "slow", "type": "complete"}
            # The operation ended, not the connection.
            await ws.send(json.dumps({"type": "ping"}))
            assert (await next_message(ws))["type"] == "pong"
            # What it got before the cut is true output, just not all of it.
            for stream, text in seen.items():
                assert PRINTED[stream].startswith(text), stream
            assert seen != PRINTED
        # Subscribing again replays everything from the start.
        async with subscription_client(served.url, user.token) as fresh:
            events = await fresh.collect(UPDATES, {"id": chatty}, timeout=120)
        updates = [event["executionUpdates"] for event in events]
        for stream, text in PRINTED.items():
            assert "".join(u["data"] for u in updates if u["stream"] == stream) == text
        assert updates[-1]["execution"]["result"] == {"printed": LINES}
