"""Waiting for an execution to end, and following its events.

The bus carries what happens; the database says how it ended. When the bus
has no record of an execution, is unreachable, or goes away midway, the rest
comes from the row once it is terminal, so a follower always gets all the
output and an end."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from models.executions import Execution
from services.events import (
    SEQ_QUEUED,
    EventBusUnavailable,
    ExecutionEvent,
    ExecutionEventBus,
    Stream,
)

log = logging.getLogger(__name__)

DB_POLL_SECONDS = 0.5


async def wait(bus: ExecutionEventBus, execution_id: uuid.UUID | str, timeout: float) -> Execution:
    """The row once it is terminal, or as it is when `timeout` runs out."""
    key = str(execution_id)
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        events = await bus.subscribe(key)
    except EventBusUnavailable:
        events = None
    if events is None:
        return await _poll_until_terminal(key, deadline)
    try:
        async with asyncio.timeout_at(deadline):
            async for event in events:
                if event.is_terminal:
                    break
    except TimeoutError:
        pass
    except EventBusUnavailable:
        return await _poll_until_terminal(key, deadline)
    return await Execution.get(id=key)


async def _poll_until_terminal(key: str, deadline: float) -> Execution:
    """Without the bus, ask the source of truth until the end or the deadline."""
    while True:
        row = await Execution.get(id=key)
        if row.status.is_terminal or asyncio.get_running_loop().time() >= deadline:
            return row
        await asyncio.sleep(DB_POLL_SECONDS)


OutputOf = Callable[[Execution], Awaitable[tuple[str, str]]]


async def follow(
    bus: ExecutionEventBus, row: Execution, wait_timeout: float, output_of: OutputOf
) -> AsyncIterator[ExecutionEvent]:
    """Replay, then live events, then the terminal event; the rest from the
    row (within `wait_timeout`) when the bus cannot tell, its output read
    with `output_of` (it may lie in object storage)."""
    last_seq = -1
    delivered: dict[Stream, int] = {"stdout": 0, "stderr": 0}
    try:
        live = await bus.subscribe(str(row.id))
        if live is not None:
            async for event in live:
                last_seq = event.seq
                if event.stream is not None:
                    delivered[event.stream] += len(event.data or "")
                yield event
            return
    except EventBusUnavailable as exc:
        log.warning("event bus unavailable while following %s: %s", row.id, exc)
    if not row.status.is_terminal:
        row = await wait(bus, row.id, wait_timeout)
    seq = max(last_seq, SEQ_QUEUED)
    stdout, stderr = await output_of(row)
    streams: tuple[tuple[Stream, str], ...] = (("stdout", stdout), ("stderr", stderr))
    for stream, text in streams:
        rest = text[delivered[stream] :]
        if rest:
            seq += 1
            yield ExecutionEvent.of(row, seq, stream=stream, data=rest)
    yield ExecutionEvent.of(row, seq + 1, row.status)
