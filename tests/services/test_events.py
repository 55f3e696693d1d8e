"""The in-memory bus's signals to workers (services/events.py): "something
was queued" and "cancel this execution" reach every listener of the process
that listened before they were sent, as Redis's channels do between
processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

import pytest

from services.events import InMemoryEventBus
from tests.support.deadlines import HANG_SECONDS

T = TypeVar("T")


async def next_of(signals: AsyncIterator[T]) -> T:
    return await asyncio.wait_for(anext(signals), HANG_SECONDS)


async def nothing_waiting(signals: AsyncIterator[object]) -> bool:
    """True when no signal is waiting (the listener's queue is empty)."""
    reading = asyncio.ensure_future(anext(signals))
    await asyncio.sleep(0)  # let it take what is already there
    waiting = not reading.done()
    reading.cancel()
    return waiting


async def test_queued_signals_reach_every_listener() -> None:
    bus = InMemoryEventBus()
    first, second = bus.queued_signals(), bus.queued_signals()
    await bus.notify_queued()
    await next_of(first)  # each listener gets the signal (or times out)
    await next_of(second)


async def test_a_listener_hears_what_was_sent_before_its_first_read() -> None:
    """Registered when asked for, not when first read: a worker that starts
    listening misses nothing sent while it was busy elsewhere."""
    bus = InMemoryEventBus()
    signals = bus.cancel_signals()
    await bus.notify_cancel("a")
    await bus.notify_cancel("b")
    assert [await next_of(signals), await next_of(signals)] == ["a", "b"]


async def test_a_signal_sent_before_listening_is_not_heard() -> None:
    bus = InMemoryEventBus()
    await bus.notify_cancel("before")
    signals = bus.cancel_signals()
    await bus.notify_cancel("after")
    assert await next_of(signals) == "after"


@pytest.mark.parametrize("kind", ["queued", "cancel"])
async def test_the_two_kinds_do_not_mix(kind: str) -> None:
    bus = InMemoryEventBus()
    queued, cancels = bus.queued_signals(), bus.cancel_signals()
    if kind == "queued":
        await bus.notify_queued()
        await next_of(queued)
        assert await nothing_waiting(cancels)
    else:
        await bus.notify_cancel("x")
        assert await next_of(cancels) == "x"
        assert await nothing_waiting(queued)
