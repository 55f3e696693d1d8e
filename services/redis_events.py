"""The event bus on Redis, for several API and worker processes.

Each execution's events go to a Redis stream (`<prefix>exec:<id>`): a
subscriber reads the stream from the start (the replay) and then blocks for
new entries (live), in one ordered sequence, until the terminal event. An
owner's status events go to `<prefix>owner:<id>` (capped); "something was
queued" and "cancel this execution" go to pub/sub channels that workers
listen on.

Redis carries only live traffic: every execution and result is in the
database first. When Redis is unreachable, publishing logs and carries on,
and subscribers get EventBusUnavailable (the execution service then falls
back to the database)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.statuses import ExecutionStatus
from services.events import (
    DEFAULT_SUBSCRIBER_QUEUE_LIMIT,
    EventBusUnavailable,
    ExecutionEvent,
    Stream,
    SubscriberTooSlow,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Long enough for any late subscriber to replay; finished streams then expire.
FINISHED_STREAM_TTL_SECONDS = 3600
# A stream that never finishes (its worker died and nobody failed the row) expires too.
OPEN_STREAM_TTL_SECONDS = 24 * 3600
# As many as an in-process subscriber may fall behind (events.py); a reader
# further behind than what the stream keeps ends with SubscriberTooSlow.
OWNER_STREAM_MAXLEN = DEFAULT_SUBSCRIBER_QUEUE_LIMIT
BLOCK_MS = 5000
READ_ATTEMPTS = 3


@dataclass(frozen=True)
class _Window:
    """Which entries a stream holds, by their all-time numbers from 0."""

    first: int  # the oldest still kept; those before it were trimmed
    added: int  # how many were ever added: the next one's number


def _windowed(info: Any, entries: Any) -> tuple[_Window | None, list[Any]]:
    """XINFO STREAM's answer and entries read with it, as (window, entries);
    no window when there is no stream or the server is too old to say."""
    if isinstance(entries, Exception):
        raise entries
    added = info.get("entries-added") if isinstance(info, dict) else None
    if added is None:
        return None, list(entries)
    return _Window(first=int(added) - int(info["length"]), added=int(added)), list(entries)


async def _retried(read: Callable[[], Awaitable[T]]) -> T:
    """A read, with a few quick retries that ride out a dropped connection
    before the bus counts as unavailable."""
    for attempt in range(READ_ATTEMPTS - 1):
        try:
            return await read()
        except (RedisError, OSError):
            await asyncio.sleep(0.2 * (attempt + 1))
    try:
        return await read()
    except (RedisError, OSError) as exc:
        raise EventBusUnavailable(str(exc)) from exc


def _encode(event: ExecutionEvent) -> dict[str, str]:
    fields = {
        "execution": event.execution_id,
        "owner": event.owner_id,
        "seq": str(event.seq),
        "status": event.status.value,
    }
    if event.stream is not None:
        fields["stream"] = event.stream
        fields["data"] = event.data or ""
    if event.batch_id:
        fields["batch"] = event.batch_id
    return fields


def _decode(fields: dict[str, str]) -> ExecutionEvent:
    stream: Stream | None = "stdout" if fields.get("stream") == "stdout" else None
    if fields.get("stream") == "stderr":
        stream = "stderr"
    return ExecutionEvent(
        execution_id=fields["execution"],
        owner_id=fields["owner"],
        seq=int(fields["seq"]),
        status=ExecutionStatus(fields["status"]),
        stream=stream,
        data=fields.get("data") if stream else None,
        batch_id=fields.get("batch"),
    )


class RedisEventBus:
    def __init__(
        self, url: str, prefix: str = "scriptbox:", owner_stream_cap: int = OWNER_STREAM_MAXLEN
    ) -> None:
        self._redis: aioredis.Redis = aioredis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=2,
            # Longer than a blocking XREAD, so a quiet stream is not a timeout.
            socket_timeout=BLOCK_MS / 1000 + 10,
            health_check_interval=10,
        )
        self._prefix = prefix
        self._owner_stream_cap = owner_stream_cap
        self._queued_channel = f"{prefix}queued"
        self._cancel_channel = f"{prefix}cancel"

    def _exec_key(self, execution_id: str) -> str:
        return f"{self._prefix}exec:{execution_id}"

    def _owner_key(self, owner_id: str) -> str:
        return f"{self._prefix}owner:{owner_id}"

    def open(self, execution_id: str) -> None:
        return None  # streams are created by their first event

    async def publish(self, event: ExecutionEvent) -> None:
        try:
            key = self._exec_key(event.execution_id)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xadd(key, _encode(event))  # type: ignore[arg-type]
                ttl = FINISHED_STREAM_TTL_SECONDS if event.is_terminal else OPEN_STREAM_TTL_SECONDS
                pipe.expire(key, ttl)
                if not event.is_output:
                    pipe.xadd(
                        self._owner_key(event.owner_id),
                        _encode(event),  # type: ignore[arg-type]
                        maxlen=self._owner_stream_cap,
                        approximate=True,
                    )
                    pipe.expire(self._owner_key(event.owner_id), OPEN_STREAM_TTL_SECONDS)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning(
                "event bus unreachable; event %s/%s not published: %s",
                event.execution_id,
                event.seq,
                exc,
            )

    async def subscribe(self, execution_id: str) -> AsyncIterator[ExecutionEvent] | None:
        key = self._exec_key(execution_id)
        try:
            history: list[tuple[str, dict[str, str]]] = await self._redis.xrange(key)  # type: ignore[assignment]
        except (RedisError, OSError) as exc:
            raise EventBusUnavailable(str(exc)) from exc
        if not history:
            return None
        return self._follow(key, history)

    async def history(self, execution_id: str) -> list[ExecutionEvent] | None:
        try:
            entries: list[tuple[str, dict[str, str]]] = await self._redis.xrange(  # type: ignore[assignment]
                self._exec_key(execution_id)
            )
        except (RedisError, OSError) as exc:
            raise EventBusUnavailable(str(exc)) from exc
        return [_decode(fields) for _id, fields in entries] or None

    async def _follow(
        self, key: str, history: list[tuple[str, dict[str, str]]]
    ) -> AsyncIterator[ExecutionEvent]:
        last_id = "0-0"
        for entry_id, fields in history:
            event = _decode(fields)
            last_id = entry_id
            yield event
            if event.is_terminal:
                return
        while True:
            answer = await self._read_after(key, last_id)
            for _stream, entries in answer or []:
                for entry_id, fields in entries:
                    event = _decode(fields)
                    last_id = entry_id
                    yield event
                    if event.is_terminal:
                        return

    async def subscribe_owner(self, owner_id: str) -> AsyncIterator[ExecutionEvent]:
        """An owner's events from now on. The owner's stream keeps its newest
        `owner_stream_cap` entries; a reader that falls further behind ends
        with SubscriberTooSlow rather than skip what was trimmed unseen."""
        key = self._owner_key(owner_id)
        try:
            # Start after the newest entry as of now: nothing in between is lost.
            first, newest = await self._owner_newest(key)
        except (RedisError, OSError) as exc:
            raise EventBusUnavailable(str(exc)) from exc
        start = str(newest[0][0]) if newest else "0-0"
        # The all-time number of the next entry: every one added so far is before it.
        following = first.added if first is not None else 0
        return self._follow_owner(key, start, following)

    async def _follow_owner(
        self, key: str, last_id: str, following: int
    ) -> AsyncIterator[ExecutionEvent]:
        while True:
            if not await self._read_after(key, last_id, count=1):
                continue  # nothing new within the block time
            window, entries = await self._owner_after(key, last_id)
            if window is not None and window.first > following:
                raise SubscriberTooSlow  # trimmed before this reader read it
            for entry_id, fields in entries:
                last_id = entry_id
                following += 1
                yield _decode(fields)

    async def _owner_newest(self, key: str) -> tuple[_Window | None, list[Any]]:
        """At one instant: which entries the stream holds, and its newest one."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xinfo_stream(key)
            pipe.xrevrange(key, count=1)
            return _windowed(*await pipe.execute(raise_on_error=False))

    async def _owner_after(self, key: str, last_id: str) -> tuple[_Window | None, list[Any]]:
        """At one instant: which entries the stream holds, and up to 100 after
        `last_id`."""

        async def read() -> tuple[_Window | None, list[Any]]:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xinfo_stream(key)
                pipe.xrange(key, min=f"({last_id}", max="+", count=100)
                return _windowed(*await pipe.execute(raise_on_error=False))

        return await _retried(read)

    async def _read_after(self, key: str, last_id: str, count: int = 100) -> Any:
        """Entries after `last_id`, blocking a while."""
        return await _retried(
            lambda: self._redis.xread({key: last_id}, block=BLOCK_MS, count=count)
        )

    async def notify_queued(self) -> None:
        try:
            await self._redis.publish(self._queued_channel, "1")
        except (RedisError, OSError) as exc:
            log.warning("event bus unreachable; workers will find the queue by polling: %s", exc)

    def queued_signals(self) -> AsyncIterator[None]:
        return self._queued_signals()

    async def _queued_signals(self) -> AsyncIterator[None]:
        async for _ in self._messages(self._queued_channel):
            yield None

    async def notify_cancel(self, execution_id: str) -> None:
        try:
            await self._redis.publish(self._cancel_channel, execution_id)
        except (RedisError, OSError) as exc:
            log.warning("event bus unreachable; workers will find the cancel by polling: %s", exc)

    def cancel_signals(self) -> AsyncIterator[str]:
        return self._messages(self._cancel_channel)

    async def _messages(self, channel: str) -> AsyncIterator[str]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            try:
                await pubsub.subscribe(channel)
                while True:
                    message = await pubsub.get_message(timeout=BLOCK_MS / 1000)
                    if message is not None:
                        yield str(message["data"])
            except (RedisError, OSError) as exc:
                raise EventBusUnavailable(str(exc)) from exc
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def announce(self, topic: str, message: str) -> None:
        try:
            await self._redis.publish(f"{self._prefix}topic:{topic}", message)
        except (RedisError, OSError) as exc:
            log.warning("event bus unreachable; %s not announced: %s", topic, exc)

    def announcements(self, topic: str) -> AsyncIterator[str]:
        return self._messages(f"{self._prefix}topic:{topic}")

    async def close(self) -> None:
        await self._redis.aclose()
