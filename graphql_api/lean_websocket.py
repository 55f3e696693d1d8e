"""uvicorn's WebSocket protocol with less kept per open connection.

A subscriber mostly sits idle on its socket, so what a connection holds is
what 10,000 subscribers cost. uvicorn's sans-I/O protocol keeps, for the
whole life of a connection, the handshake's request and response (their
headers) and an `asyncio.Queue` plus an `asyncio.Event`, which hold five
deques of ~760 bytes each though a connection's inbox rarely holds more than
one message. This protocol drops the handshake once the socket is accepted
and uses an inbox and a gate that allocate only while someone waits.

It leans on attribute names of uvicorn's class (`queue`, `writable`,
`request`, `response`, `handshake_complete`); uv.lock pins uvicorn, and every
WebSocket test runs through this class."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

if TYPE_CHECKING:
    from uvicorn._types import ASGIReceiveEvent, ASGISendEvent


class Gate:
    """The part of `asyncio.Event` uvicorn uses for "the transport may be
    written" (`set`, `clear`, `wait`), open at first; its waiters' list
    exists only while someone waits."""

    __slots__ = ("_open", "_waiters")

    def __init__(self) -> None:
        self._open = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._open

    def set(self) -> None:
        self._open = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._open = False

    async def wait(self) -> bool:
        if self._open:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class Inbox:
    """The part of `asyncio.Queue` uvicorn uses (`put_nowait`, `get`,
    `empty`), unbounded like uvicorn's: items in a list, and a gate that is
    open while there are any."""

    __slots__ = ("_filled", "_items")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._filled = Gate()

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._filled.set()

    async def get(self) -> Any:
        while not self._items:
            self._filled.clear()
            await self._filled.wait()
        return self._items.pop(0)


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Duck-typed stand-ins: uvicorn calls only the methods above.
        self.queue = cast("asyncio.Queue[ASGIReceiveEvent]", Inbox())
        self.writable = cast("asyncio.Event", Gate())

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # Read only while answering the handshake; the scope keeps what
            # the application needs of the request. The headers are cleared,
            # not just dropped: websockets' parser keeps the request object.
            self.request.headers.clear()
            del self.request
            del self.response
