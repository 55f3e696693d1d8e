"""Waiting without fixed sleeps: poll until a condition holds, with a deadline
that only guards against a hang (never a performance bound: the machine that
runs the suite may be shared and slow)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# Long enough for a loaded machine; a hang still ends the test.
HANG_SECONDS = 120.0


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    what: str,
    deadline: float = HANG_SECONDS,
    every: float = 0.1,
) -> T:
    """The first truthy value `probe` returns; AssertionError after `deadline` s."""
    until = time.monotonic() + deadline
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > until:
            raise AssertionError(f"{what}: not within {deadline} s")
        await asyncio.sleep(every)


async def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Until `predicate()` holds (a cheap check on local state, polled often)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
