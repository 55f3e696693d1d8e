"""A WebSocket to a service: the caller's connection relayed message by
message to one the proxy opens over the service's unix socket.

The `websockets` library (already serving uvicorn's WebSockets here) speaks
the client side over a unix socket (`unix_connect`); the relay re-sends each
message, so the two connections keep their own framing, masking and
keep-alives, and a message over `max_request_bytes` (to the service) or
`max_response_bytes` (from it) closes both with 1009. Headers cross as for
plain requests (`headers.to_service`), minus the handshake's own, which
each side makes afresh; the caller's subprotocols are offered, and the one
the service picks is the one the caller gets.

Refusals before the handshake answer plain HTTP (502, 504, ...), as the
HTTP route does, when the server can send them (uvicorn can).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, unix_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from core.errors import ServiceTimedOut, ServiceUnreachable
from graphql_api.service_proxy import headers
from graphql_api.service_proxy.forward import open_socket_directory, socket_in
from graphql_api.service_proxy.limits import ProxyLimits

HANDSHAKE = frozenset(
    {
        "host",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
        "content-length",
    }
)
MESSAGE_TOO_BIG = 1009
GOING_AWAY = 1001


async def open_upstream(
    websocket: WebSocket, socket: Path, prefix: str, limits: ProxyLimits
) -> ClientConnection:
    """The service's side, handshake done; ServiceUnreachable or
    ServiceTimedOut when it cannot be had."""
    raw_path: bytes = websocket.scope.get("raw_path") or websocket.url.path.encode()
    query: bytes = websocket.scope.get("query_string", b"")
    target = (raw_path[len(prefix.encode()) :] or b"/") + (b"?" + query if query else b"")
    client = websocket.client.host if websocket.client is not None else ""
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    sent = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, v in headers.to_service(websocket.headers.raw, client, scheme, prefix)
        if k.decode("latin-1").lower() not in HANDSHAKE
    ]
    directory = open_socket_directory(socket)
    try:
        path = socket_in(directory, socket.name)
        async with asyncio.timeout(limits.connect_seconds + limits.first_byte_seconds):
            return await unix_connect(
                path,
                uri="ws://service" + target.decode("latin-1"),
                additional_headers=sent,
                subprotocols=websocket.scope.get("subprotocols") or None,
                max_size=limits.max_response_bytes,
                compression=None,
                open_timeout=None,
                user_agent_header=None,
                proxy=None,
            )
    except TimeoutError:
        raise ServiceTimedOut("The service did not answer in time.") from None
    except (OSError, InvalidHandshake, InvalidStatus):
        raise ServiceUnreachable("The service did not accept a WebSocket.") from None
    finally:
        os.close(directory)


async def relay(websocket: WebSocket, upstream: ClientConnection, limits: ProxyLimits) -> None:
    """Accept the caller's WebSocket and copy messages both ways until
    either side closes; the other is then closed with the same code."""
    await websocket.accept(subprotocol=upstream.subprotocol)
    to_service = asyncio.create_task(_from_caller(websocket, upstream, limits))
    to_caller = asyncio.create_task(_from_service(websocket, upstream))
    try:
        await asyncio.wait({to_service, to_caller}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (to_service, to_caller):
            task.cancel()
        await asyncio.gather(to_service, to_caller, return_exceptions=True)
        await upstream.close()
        with contextlib.suppress(RuntimeError, OSError):  # the caller is gone already
            code = upstream.close_code or GOING_AWAY
            await websocket.close(code=code if code != 1005 else GOING_AWAY)


async def _from_caller(
    websocket: WebSocket, upstream: ClientConnection, limits: ProxyLimits
) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                await upstream.close(code=int(message.get("code", GOING_AWAY)))
                return
            data = message.get("bytes")
            payload: str | bytes = data if data is not None else message.get("text") or ""
            if len(payload) > limits.max_request_bytes:
                await upstream.close(code=MESSAGE_TOO_BIG)
                await websocket.close(code=MESSAGE_TOO_BIG)
                return
            await upstream.send(payload)
    except (WebSocketDisconnect, ConnectionClosed):
        return


async def _from_service(websocket: WebSocket, upstream: ClientConnection) -> None:
    try:
        async for message in upstream:
            if isinstance(message, bytes):
                await websocket.send_bytes(message)
            else:
                await websocket.send_text(message)
    except ConnectionClosed:
        return
