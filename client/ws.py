"""One GraphQL subscription over graphql-transport-ws, read synchronously:
the CLI follows one run at a time, so websockets' blocking client is enough
and keeps the commands free of an event loop.

Messages (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md):
connection_init → connection_ack, subscribe → next* → complete | error;
ping is answered with pong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from client.errors import ServiceError, Unreachable

PROTOCOL = "graphql-transport-ws"
OPERATION_ID = "1"
# Waiting for the acknowledgement only; a run may stay quiet far longer.
ACK_TIMEOUT = 30.0
# The close code of a missing or bad token in connection_init.
REFUSED_TOKEN = 4403


def _ws_url(url: str) -> str:
    return url.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/graphql"


def _raise_errors(errors: Any) -> None:
    first = errors[0] if isinstance(errors, list) and errors else {}
    code = (first.get("extensions") or {}).get("code") if isinstance(first, dict) else None
    message = first.get("message") if isinstance(first, dict) else None
    raise ServiceError(str(message or "the subscription was refused"), code)


def _acknowledged(socket: ClientConnection, token: str) -> None:
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    socket.send(json.dumps(init))
    while True:
        message = json.loads(socket.recv(timeout=ACK_TIMEOUT))
        if message.get("type") == "connection_ack":
            return
        if message.get("type") == "ping":
            socket.send(json.dumps({"type": "pong"}))


def subscribe(
    url: str, token: str, document: str, variables: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Yields each `data` payload until the service completes the operation."""
    try:
        with connect(_ws_url(url), subprotocols=[PROTOCOL], max_size=2**24) as socket:  # type: ignore[list-item]
            _acknowledged(socket, token)
            payload = {"query": document, "variables": variables}
            socket.send(json.dumps({"id": OPERATION_ID, "type": "subscribe", "payload": payload}))
            for raw in socket:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    socket.send(json.dumps({"type": "pong"}))
                elif kind == "next":
                    body = message.get("payload") or {}
                    if body.get("errors"):
                        _raise_errors(body["errors"])
                    yield body.get("data") or {}
                elif kind == "error":
                    _raise_errors(message.get("payload"))
                elif kind == "complete":
                    return
    except ConnectionClosed as exc:
        reason = exc.rcvd.reason if exc.rcvd else ""
        if exc.rcvd is not None and exc.rcvd.code == REFUSED_TOKEN:
            raise ServiceError(reason or "the token was refused", "UNAUTHENTICATED") from None
        raise Unreachable(f"the connection to {url} closed: {reason or exc}") from None
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
        raise Unreachable(f"cannot follow the run at {url}: {exc}") from None
