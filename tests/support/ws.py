"""Minimal GraphQL-over-WebSocket clients (both protocols), as a front end
would speak them: graphql-transport-ws and the legacy graphql-ws. Several
operations may run at once on one connection: a reader task hands each
message to the operation it belongs to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class Subscription:
    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self._next_id = 0
        self._queues: dict[str, asyncio.Queue[dict[str, Any] | None]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message: dict[str, Any] = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                    continue
                if kind in ("pong", "ka"):
                    continue
                queue = self._queues.get(str(message.get("id")))
                if queue is not None:
                    queue.put_nowait(message)
        finally:
            for queue in self._queues.values():
                queue.put_nowait(None)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def events(
        self, query: str, variables: dict[str, Any] | None = None, timeout: float = 60
    ) -> AsyncIterator[dict[str, Any]]:
        """Yields each `data` payload until the server completes the operation.
        Raises AssertionError on an error message or a closed socket."""
        self._next_id += 1
        op_id = str(self._next_id)
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._queues[op_id] = queue
        start = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send(json.dumps({"id": op_id, "type": start, "payload": payload}))
        data_type = "next" if self.protocol == TRANSPORT_WS else "data"
        try:
            while True:
                message = await asyncio.wait_for(queue.get(), timeout)
                if message is None:
                    raise AssertionError("the socket closed before the operation completed")
                if message["type"] == data_type:
                    body = message["payload"]
                    if body.get("errors"):
                        raise AssertionError(body["errors"])
                    yield body["data"]
                elif message["type"] == "complete":
                    return
                else:
                    raise AssertionError(message)
        finally:
            self._queues.pop(op_id, None)

    async def collect(
        self, query: str, variables: dict[str, Any] | None = None, timeout: float = 60
    ) -> list[dict[str, Any]]:
        return [event async for event in self.events(query, variables, timeout)]


@asynccontextmanager
async def acknowledged(
    base_url: str, token: str | None, protocol: str
) -> AsyncIterator[ClientConnection]:
    """A connection to /graphql whose connection_init (with `token`) was acknowledged."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[protocol], max_size=2**24) as ws:  # type: ignore[list-item]
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        # A deadline against a hang only.
        ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert ack["type"] == "connection_ack", ack
        yield ws


@asynccontextmanager
async def subscription_client(
    base_url: str, token: str | None, protocol: str = TRANSPORT_WS
) -> AsyncIterator[Subscription]:
    async with acknowledged(base_url, token, protocol) as ws:
        client = Subscription(ws, protocol)
        try:
            yield client
        finally:
            await client.close()


class RawSocket:
    """One connection seen message by message, close code included: for
    tests of what the server answers to mistakes, expiry and misuse."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol

    async def send_operation(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        start = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send(json.dumps({"id": op_id, "type": start, "payload": payload}))

    async def next_message(self, timeout: float = 30) -> dict[str, Any]:
        """The next message other than ping/pong/keep-alive (answers pings)."""
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message.get("type") == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
            elif message.get("type") not in ("pong", "ka"):
                return message

    async def closed_with(self, timeout: float = 30) -> tuple[int | None, list[dict[str, Any]]]:
        """Waits for the server to close; the close code and what came before."""
        before: list[dict[str, Any]] = []
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                before.append(await self.next_message(timeout))
        await asyncio.wait_for(self.ws.wait_closed(), timeout)
        return (self.ws.close_code, before)


def error_codes(message: dict[str, Any]) -> list[str]:
    """The codes of an `error` message in either protocol (a list of errors
    in graphql-transport-ws, one error in graphql-ws)."""
    assert message.get("type") == "error", message
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else [payload]
    return [str((error.get("extensions") or {}).get("code")) for error in errors]


@asynccontextmanager
async def raw_socket(
    base_url: str, token: str | None, protocol: str = TRANSPORT_WS
) -> AsyncIterator[RawSocket]:
    """A connection acknowledged with `token`, read message by message."""
    async with acknowledged(base_url, token, protocol) as ws:
        yield RawSocket(ws, protocol)


async def assert_healthz_answers(base_url: str, within: float = 1.0) -> None:
    """/healthz answers 200 within `within` seconds (the loop is not blocked)."""
    async with httpx.AsyncClient() as http:
        started = time.monotonic()
        response = await http.get(f"{base_url}/healthz", timeout=within)
        assert response.status_code == 200
        assert time.monotonic() - started < within
