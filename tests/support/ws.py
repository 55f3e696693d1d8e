"""Minimal GraphQL-over-WebSocket clients (both protocols), as a front end
would speak them: graphql-transport-ws and the legacy graphql-ws."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class Subscription:
    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self._next_id = 0

    async def _recv(self, timeout: float) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        return message

    async def events(
        self, query: str, variables: dict[str, Any] | None = None, timeout: float = 60
    ) -> AsyncIterator[dict[str, Any]]:
        """Yields each `data` payload until the server completes the operation.
        Raises AssertionError on an error message."""
        self._next_id += 1
        op_id = str(self._next_id)
        start = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.ws.send(
            json.dumps(
                {
                    "id": op_id,
                    "type": start,
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        data_type = "next" if self.protocol == TRANSPORT_WS else "data"
        while True:
            message = await self._recv(timeout)
            if message.get("type") in ("ping", "ka"):
                if message["type"] == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                continue
            assert message.get("id") == op_id, message
            if message["type"] == data_type:
                payload = message["payload"]
                if payload.get("errors"):
                    raise AssertionError(payload["errors"])
                yield payload["data"]
            elif message["type"] == "complete":
                return
            else:
                raise AssertionError(message)

    async def collect(
        self, query: str, variables: dict[str, Any] | None = None, timeout: float = 60
    ) -> list[dict[str, Any]]:
        return [event async for event in self.events(query, variables, timeout)]


@asynccontextmanager
async def subscription_client(
    base_url: str, token: str | None, protocol: str = TRANSPORT_WS
) -> AsyncIterator[Subscription]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[protocol], max_size=2**24) as ws:  # type: ignore[list-item]
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield Subscription(ws, protocol)
