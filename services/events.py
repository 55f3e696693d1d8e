"""Execution events and the bus that carries them to subscribers.

`ExecutionEventBus` is the interface; `InMemoryEventBus` is the embedded
implementation (one process). A scale-out bus (e.g. Redis) implements the same
methods; callers never depend on in-process details. Besides events, the bus
carries two signals to workers: "something was queued" and "cancel this
execution"; both only hurry what workers also find by polling the database.

Ordering: every event of one execution carries a `seq` that increases by one.
A subscriber gets the history first (what was already printed), then live
events, with no gap and no duplicate, then the stream ends after the
terminal event."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

from core.statuses import ExecutionStatus

if TYPE_CHECKING:
    from models.executions import Execution

Stream = Literal["stdout", "stderr"]
# Fixed sequence numbers, so any process can number events without shared
# state: QUEUED is 0, RUNNING is 1, output follows, the terminal event last.
SEQ_QUEUED = 0
SEQ_RUNNING = 1
# How long a finished execution's history stays in memory for late
# subscribers; after that they are served from the database row.
HISTORY_RETENTION_SECONDS = 120.0
# A subscriber that cannot keep up is cut off rather than letting its queue
# grow without bound (it can resubscribe and replay).
DEFAULT_SUBSCRIBER_QUEUE_LIMIT = 10_000
# Signals a worker has not read yet; past this, more are dropped (the
# worker's poll of the database finds what they were about).
SIGNAL_QUEUE_LIMIT = 10_000


@dataclass(frozen=True)
class ExecutionEvent:
    execution_id: str
    owner_id: str
    seq: int
    status: ExecutionStatus
    stream: Stream | None = None
    data: str | None = None
    batch_id: str | None = None
    # On a terminal event published by the process that ended the row: the
    # row as written, so followers in that process show it without reading
    # it again. Never crosses processes (a scale-out bus drops it, and its
    # followers read the row).
    finished: Execution | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        row: Execution,
        seq: int,
        status: ExecutionStatus = ExecutionStatus.RUNNING,
        stream: Stream | None = None,
        data: str | None = None,
        finished: Execution | None = None,
    ) -> ExecutionEvent:
        """An event of `row`: a change to `status`, or output (`stream` and
        `data`, while it runs). Every event of a row is made here."""
        return cls(
            execution_id=str(row.id),
            owner_id=str(row.owner_id),
            seq=seq,
            status=status,
            stream=stream,
            data=data,
            batch_id=str(row.batch_id) if row.batch_id else None,
            finished=finished,
        )

    @property
    def is_terminal(self) -> bool:
        return self.stream is None and self.status.is_terminal

    @property
    def is_output(self) -> bool:
        return self.stream is not None


class SubscriberTooSlow(Exception):
    pass


class EventBusUnavailable(Exception):
    """The bus cannot be reached; callers fall back to the database."""


class ExecutionEventBus(Protocol):
    def open(self, execution_id: str) -> None:
        """Start recording an execution's events (called when it is queued)."""
        ...

    async def publish(self, event: ExecutionEvent) -> None:
        """Never raises for an unreachable bus: the database keeps the truth."""
        ...

    async def subscribe(self, execution_id: str) -> AsyncIterator[ExecutionEvent] | None:
        """History then live events of one execution, ending after the
        terminal event; None when this bus has no record of it. May raise
        EventBusUnavailable, also while iterating."""
        ...

    async def history(self, execution_id: str) -> list[ExecutionEvent] | None:
        """The events of one execution published so far, without waiting;
        None when this bus has no record of it. May raise
        EventBusUnavailable. Recovery uses it so that the output stored for
        a lost execution is what its subscribers were shown."""
        ...

    async def subscribe_owner(self, owner_id: str) -> AsyncIterator[ExecutionEvent]:
        """Status events (not output) of every execution of one owner, from
        the moment of the call on."""
        ...

    async def notify_queued(self) -> None:
        """Tell workers (in any process) that executions were queued."""
        ...

    def queued_signals(self) -> AsyncIterator[None]:
        """An item per notify_queued from any process, from the moment of
        the call on. May raise EventBusUnavailable while iterating."""
        ...

    async def notify_cancel(self, execution_id: str) -> None:
        """Tell workers (in any process) that a cancel of this execution was asked for."""
        ...

    def cancel_signals(self) -> AsyncIterator[str]:
        """The execution id of each notify_cancel from any process, from the
        moment of the call on. May raise EventBusUnavailable while iterating."""
        ...

    async def announce(self, topic: str, message: str) -> None:
        """Send `message` to every listener of `topic` in any process, now
        (nothing is kept: services/service_logs.py replays from the
        database). Never raises for an unreachable bus."""
        ...

    def announcements(self, topic: str) -> AsyncIterator[str]:
        """The messages of `topic` from the moment of the first iteration
        on. May raise EventBusUnavailable while iterating."""
        ...

    async def close(self) -> None: ...


@dataclass
class _Topic:
    history: list[ExecutionEvent] = field(default_factory=list)
    subscribers: set[asyncio.Queue[ExecutionEvent | None]] = field(default_factory=set)
    finished_at: float | None = None


class InMemoryEventBus:
    def __init__(self, queue_limit: int = DEFAULT_SUBSCRIBER_QUEUE_LIMIT) -> None:
        if queue_limit < 1:
            raise ValueError("a subscriber's queue must hold at least one event")
        self._queue_limit = queue_limit
        self._topics: dict[str, _Topic] = {}
        self._owner_subscribers: dict[str, set[asyncio.Queue[ExecutionEvent | None]]] = {}
        self._queued: _Signals[None] = _Signals()
        self._cancels: _Signals[str] = _Signals()
        self._topics_announced: dict[str, _Signals[str]] = {}

    def open(self, execution_id: str) -> None:
        """Start recording an execution's events (called when it is queued)."""
        self._expire()
        self._topics.setdefault(execution_id, _Topic())

    async def publish(self, event: ExecutionEvent) -> None:
        topic = self._topics.setdefault(event.execution_id, _Topic())
        topic.history.append(event)
        for queue in list(topic.subscribers):
            _offer(queue, event)
        if not event.is_output:
            for queue in list(self._owner_subscribers.get(event.owner_id, ())):
                _offer(queue, event)
        if event.is_terminal:
            topic.finished_at = time.monotonic()
            for queue in list(topic.subscribers):
                _offer(queue, None)

    async def subscribe(self, execution_id: str) -> AsyncIterator[ExecutionEvent] | None:
        topic = self._topics.get(execution_id)
        if topic is None:
            return None
        return self._follow(topic)

    async def history(self, execution_id: str) -> list[ExecutionEvent] | None:
        topic = self._topics.get(execution_id)
        return None if topic is None else list(topic.history)

    async def _follow(self, topic: _Topic) -> AsyncIterator[ExecutionEvent]:
        # Copying the history and registering the queue happen with no await
        # in between, so no event can fall between replay and live.
        history = list(topic.history)
        queue: asyncio.Queue[ExecutionEvent | None] = asyncio.Queue(self._queue_limit)
        finished = topic.finished_at is not None
        if not finished:
            topic.subscribers.add(queue)
        try:
            for event in history:
                yield event
            if finished:
                return
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, _Overflow):
                    raise SubscriberTooSlow
                yield item
        finally:
            topic.subscribers.discard(queue)

    async def subscribe_owner(self, owner_id: str) -> AsyncIterator[ExecutionEvent]:
        # Registered now, not at the first iteration, so that a caller can
        # subscribe, then read the database, and miss nothing in between.
        queue: asyncio.Queue[ExecutionEvent | None] = asyncio.Queue(self._queue_limit)
        self._owner_subscribers.setdefault(owner_id, set()).add(queue)
        return self._drain_owner(owner_id, queue)

    async def _drain_owner(
        self, owner_id: str, queue: asyncio.Queue[ExecutionEvent | None]
    ) -> AsyncIterator[ExecutionEvent]:
        try:
            while True:
                item = await queue.get()
                if item is None or isinstance(item, _Overflow):
                    raise SubscriberTooSlow
                yield item
        finally:
            subscribers = self._owner_subscribers.get(owner_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._owner_subscribers[owner_id]

    async def notify_queued(self) -> None:
        self._queued.send(None)

    def queued_signals(self) -> AsyncIterator[None]:
        return self._queued.listen()

    async def notify_cancel(self, execution_id: str) -> None:
        self._cancels.send(execution_id)

    def cancel_signals(self) -> AsyncIterator[str]:
        return self._cancels.listen()

    async def announce(self, topic: str, message: str) -> None:
        signals = self._topics_announced.get(topic)
        if signals is not None:
            signals.send(message)

    async def announcements(self, topic: str) -> AsyncIterator[str]:
        signals = self._topics_announced.setdefault(topic, _Signals())
        try:
            # Closed with this generator, so its queue leaves the topic at once.
            async with contextlib.aclosing(signals.listen()) as messages:
                async for message in messages:
                    yield message
        finally:
            if not signals.listening:
                self._topics_announced.pop(topic, None)

    async def close(self) -> None:
        return None

    def _expire(self) -> None:
        cutoff = time.monotonic() - HISTORY_RETENTION_SECONDS
        for execution_id, topic in list(self._topics.items()):
            if topic.finished_at is not None and topic.finished_at < cutoff:
                del self._topics[execution_id]


SignalT = TypeVar("SignalT")


class _Signals(Generic[SignalT]):
    """Signals to listeners in this process. A listener is registered when
    `listen` is called, not at its first iteration, so nothing sent in
    between is missed."""

    def __init__(self) -> None:
        self._listeners: set[asyncio.Queue[SignalT]] = set()

    def send(self, item: SignalT) -> None:
        for queue in self._listeners:
            if not queue.full():
                queue.put_nowait(item)

    @property
    def listening(self) -> bool:
        return bool(self._listeners)

    def listen(self) -> AsyncGenerator[SignalT, None]:
        queue: asyncio.Queue[SignalT] = asyncio.Queue(SIGNAL_QUEUE_LIMIT)
        self._listeners.add(queue)
        return self._drain(queue)

    async def _drain(self, queue: asyncio.Queue[SignalT]) -> AsyncGenerator[SignalT, None]:
        try:
            while True:
                yield await queue.get()
        finally:
            self._listeners.discard(queue)


class _Overflow(ExecutionEvent):
    pass


_OVERFLOW = _Overflow(execution_id="", owner_id="", seq=-1, status=ExecutionStatus.FAILED)


def _offer(queue: asyncio.Queue[ExecutionEvent | None], item: ExecutionEvent | None) -> None:
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        # Drop what is queued and leave one marker: the reader stops with
        # SubscriberTooSlow instead of silently missing events.
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_OVERFLOW)
