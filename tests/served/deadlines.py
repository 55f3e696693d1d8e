"""Waiting on the served process without fixed sleeps: poll until a
condition holds, with a deadline that only guards against a hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, deadline: float = 120, every: float = 0.25
) -> T:
    """The first non-empty value `probe` returns; AssertionError after `deadline` s."""
    until = time.monotonic() + deadline
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > until:
            raise AssertionError(f"{what}: not within {deadline} s")
        await asyncio.sleep(every)
