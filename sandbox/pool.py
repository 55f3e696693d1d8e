"""Warm pool: started containers idling in the runner, each for one job.

Containers are created ahead of demand, one at a time in the background (a
start costs a few hundred milliseconds of engine work; on a small machine
doing them in parallel only slows the runs in progress). A leased container
leaves the pool for good; the pool refills itself: at once when it is empty,
otherwise a moment later (`REFILL_PAUSE_SECONDS`), so that the engine's work
of a start does not compete with the run that just took a container.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from core import metrics
from sandbox.containers import LiveContainer

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0
REFILL_PAUSE_SECONDS = 0.1


class WarmPool:
    def __init__(
        self,
        create: Callable[[], Awaitable[LiveContainer]],
        discard: Callable[[LiveContainer], None],
        size: int,
        profile: tuple[int, int, int, int],
    ) -> None:
        self._create = create
        self._discard = discard
        self._size = size
        self.profile = profile
        self._ready: deque[LiveContainer] = deque()
        self._wanted = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._later: asyncio.TimerHandle | None = None

    def start(self) -> None:
        if self._size > 0 and self._task is None:
            self._task = asyncio.create_task(self._fill(), name="sandbox-warm-pool")

    def take(self, profile: tuple[int, int, int, int]) -> LiveContainer | None:
        """A healthy idle container made for these limits, or None."""
        if profile != self.profile:
            metrics.WARM_POOL_MISSES.inc()
            return None
        while self._ready:
            container = self._ready.popleft()
            metrics.WARM_POOL_SIZE.dec()
            if container.alive():
                self._refill()
                return container
            log.warning("warm container %s died while idle; discarding", container.id[:12])
            self._discard(container)
        self._wanted.set()
        metrics.WARM_POOL_MISSES.inc()
        return None

    def _refill(self) -> None:
        if not self._ready:
            self._wanted.set()  # the next run would find none: start now
        elif self._later is None:
            self._later = asyncio.get_running_loop().call_later(
                REFILL_PAUSE_SECONDS, self._refill_now
            )

    def _refill_now(self) -> None:
        self._later = None
        self._wanted.set()

    @property
    def container_ids(self) -> list[str]:
        return [c.id for c in self._ready]

    async def close(self) -> None:
        self._closed = True
        if self._later is not None:
            self._later.cancel()
            self._later = None
        self._wanted.set()
        if self._task is not None:
            # Not cancelled: the loop sees _closed and stops. wait(), not
            # await: a task someone else cancelled must not cancel close().
            await asyncio.wait({self._task})
            self._task = None
        while self._ready:
            self._discard(self._ready.popleft())
            metrics.WARM_POOL_SIZE.dec()

    async def _fill(self) -> None:
        backoff = 0.5
        while not self._closed:
            if len(self._ready) >= self._size:
                self._wanted.clear()
                await self._wanted.wait()
                continue
            try:
                container = await self._create()
            except Exception as exc:
                if self._closed:
                    return
                log.warning("warm pool cannot start a container (retry in %.1fs): %s", backoff, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closed_event(), backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = 0.5
            if self._closed:
                self._discard(container)
                return
            self._ready.append(container)
            metrics.WARM_POOL_SIZE.inc()

    async def _closed_event(self) -> None:
        while not self._closed:
            self._wanted.clear()
            await self._wanted.wait()
