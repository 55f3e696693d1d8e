"""GraphQL over HTTP (httpx) and over WebSocket (graphql-transport-ws), as a
front end speaks them. Set-up and measured calls go through the same code."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

PASSWORD = "bench passphrase, long enough"
TRANSPORT_WS = "graphql-transport-ws"

REGISTER = """mutation($u: String!, $p: String!) {
  register(username: $u, password: $p) { accessToken user { id username } } }"""
LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { accessToken user { id username } } }"""
CREATE_SCRIPT = """mutation($name: String!, $content: String!, $folderId: ID) {
  createScript(input: {name: $name, content: $content, folderId: $folderId}) { id path } }"""
RUN_SCRIPT = """mutation($id: ID!, $input: JSON, $timeout: Float) {
  runScript(input: {scriptId: $id, input: $input, timeoutSeconds: $timeout}) { id status } }"""
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { id status } }"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED"}


class GraphQLFailed(RuntimeError):
    pass


class Api:
    def __init__(
        self, base_url: str, token: str | None = None, http: httpx.AsyncClient | None = None
    ):
        self.base_url = base_url
        self.token = token
        self.http = http or httpx.AsyncClient(timeout=120)
        self.user_id = ""
        self.username = ""

    async def aclose(self) -> None:
        await self.http.aclose()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=self.headers(),
        )
        body: dict[str, Any] = response.json()
        if body.get("errors") or response.status_code != 200:
            raise GraphQLFailed(f"{response.status_code}: {json.dumps(body)[:2000]}")
        result: dict[str, Any] = body["data"]
        return result

    async def register(self, prefix: str = "bench") -> Api:
        """A client logged in as a fresh user (sharing this one's connection pool)."""
        username = f"{prefix}-{secrets.token_hex(4)}"
        data = await self.data(REGISTER, {"u": username, "p": PASSWORD})
        return self._as(data["register"])

    async def login(self, username: str, password: str = PASSWORD) -> Api:
        data = await self.data(LOGIN, {"u": username, "p": password})
        return self._as(data["login"])

    def _as(self, payload: dict[str, Any]) -> Api:
        authed = Api(self.base_url, payload["accessToken"], self.http)
        authed.user_id = payload["user"]["id"]
        authed.username = payload["user"]["username"]
        return authed

    async def create_script(self, name: str, content: str) -> str:
        data = await self.data(CREATE_SCRIPT, {"name": name, "content": content})
        return str(data["createScript"]["id"])

    async def run_script(
        self, script_id: str, input_value: Any = None, timeout: float | None = None
    ) -> str:
        data = await self.data(
            RUN_SCRIPT, {"id": script_id, "input": input_value, "timeout": timeout}
        )
        return str(data["runScript"]["id"])

    async def cancel(self, execution_id: str) -> str:
        data = await self.data(CANCEL, {"id": execution_id})
        return str(data["cancelExecution"]["status"])


class Socket:
    """One authenticated graphql-transport-ws connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._next_id = 0

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._next_id += 1
        op_id = str(self._next_id)
        message = {
            "id": op_id,
            "type": "subscribe",
            "payload": {"query": query, "variables": variables or {}},
        }
        await self.ws.send(json.dumps(message))
        return op_id

    async def receive(self, timeout: float) -> dict[str, Any]:
        """The next message that is not a ping (pings are answered)."""
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message.get("type") == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            if message.get("type") == "pong":
                continue
            return message

    async def events(self, op_id: str, timeout: float) -> AsyncIterator[dict[str, Any]]:
        """`data` of each `next` of one operation until it completes."""
        while True:
            message = await self.receive(timeout)
            kind = message.get("type")
            if message.get("id") != op_id:
                raise GraphQLFailed(f"unexpected message {message}")
            if kind == "next":
                payload = message["payload"]
                if payload.get("errors"):
                    raise GraphQLFailed(json.dumps(payload["errors"]))
                yield payload["data"]
            elif kind == "complete":
                return
            else:
                raise GraphQLFailed(f"unexpected message {message}")


@asynccontextmanager
async def socket(base_url: str, token: str, open_timeout: float = 60) -> AsyncIterator[Socket]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(
        url,
        subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
        max_size=2**24,
        open_timeout=open_timeout,
        ping_interval=None,
    ) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await asyncio.wait_for(ws.recv(), open_timeout))
        if ack.get("type") != "connection_ack":
            raise GraphQLFailed(f"no connection_ack: {ack}")
        yield Socket(ws)
