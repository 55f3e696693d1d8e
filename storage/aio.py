"""Running blocking calls from async code without leaving them behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

T = TypeVar("T")


async def run_sync(func: Callable[..., T], *args: Any) -> T:
    """``asyncio.to_thread`` that, when cancelled, still waits for the thread.

    A thread cannot be stopped. If the caller went on after a cancel while the
    thread still works, its cleanup (closing a file descriptor, releasing a
    per-key lock) would race with that thread: a closed fd number can even be
    reused by another open and written to. So we wait, then re-raise.
    """
    return await finish(asyncio.ensure_future(asyncio.to_thread(func, *args)))


async def finish(future: asyncio.Future[T]) -> T:
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await wait_quietly(future)
        raise


async def wait_quietly(future: asyncio.Future[Any]) -> None:
    """Wait until ``future`` is done, ignoring its outcome and further cancels."""
    while not future.done():
        try:
            await asyncio.wait([future])
        except asyncio.CancelledError:
            continue
    if not future.cancelled():
        future.exception()  # mark it retrieved: the caller reports its own error


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]
