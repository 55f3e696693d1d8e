"""Warm pools for jobs that mount volumes (Python dependency environments).

A volume is mounted when a container is created, so the generic warm pool
cannot serve such jobs. Instead each recently used set of volumes gets a
small pool of its own: the first run of an environment in this process takes
a fresh container and starts the pool; later runs take a warm one. Only the
``max_pools`` most recently used sets keep a pool, and a pool idle for
``idle_seconds`` is closed, so idle containers (and the volumes they hold)
stay few. ``release`` closes every pool that mounts a volume, before the
volume is removed.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

from core.limits import SandboxLimits
from sandbox.containers import LiveContainer
from sandbox.job import VolumeMount
from sandbox.pool import WarmPool

PoolKey = tuple[VolumeMount, ...]
CreateWithVolumes = Callable[[Sequence[VolumeMount]], Awaitable[LiveContainer]]


class EnvPools:
    def __init__(
        self,
        create: CreateWithVolumes,
        discard: Callable[[LiveContainer], None],
        limits: SandboxLimits,
        size: int = 1,
        max_pools: int = 4,
        idle_seconds: float = 600.0,
    ) -> None:
        self._create = create
        self._discard = discard
        self._profile = limits.container_profile()
        self.size = size
        self.max_pools = max_pools
        self.idle_seconds = idle_seconds
        # Most recently used last.
        self._pools: OrderedDict[PoolKey, tuple[WarmPool, float]] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def container_ids(self) -> list[str]:
        return [cid for pool, _ in self._pools.values() for cid in pool.container_ids]

    def take(
        self, volumes: Sequence[VolumeMount], profile: tuple[int, int, int, int]
    ) -> LiveContainer | None:
        """A warm container with exactly these read-only volumes, or None.

        Starts a pool for them when there is none, so the next run is warm.
        """
        key = tuple(volumes)
        if self._closed:
            return None  # a pool started now would outlive close()
        if self.size <= 0 or self.max_pools <= 0 or any(not v.read_only for v in key):
            return None  # builds (read-write mounts) are one-offs
        self._close_idle(keep=key)
        entry = self._pools.get(key)
        if entry is None:
            pool = WarmPool(self._creator(key), self._discard, self.size, self._profile)
            pool.start()
            self._pools[key] = (pool, time.monotonic())
            while len(self._pools) > self.max_pools:
                _, (oldest, _) = self._pools.popitem(last=False)
                self._close_soon(oldest)
            return None
        pool, _ = entry
        self._pools[key] = (pool, time.monotonic())
        self._pools.move_to_end(key)
        return pool.take(profile)

    async def release(self, volume: str) -> None:
        """Close (and await) every pool whose containers mount ``volume``."""
        keys = [key for key in self._pools if any(v.volume == volume for v in key)]
        for key in keys:
            pool, _ = self._pools.pop(key)
            await pool.close()
        await self._settle()

    async def close(self) -> None:
        self._closed = True
        pools = [pool for pool, _ in self._pools.values()]
        self._pools.clear()
        for pool in pools:
            await pool.close()
        await self._settle()

    async def _settle(self) -> None:
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def _creator(self, key: PoolKey) -> Callable[[], Awaitable[LiveContainer]]:
        async def create() -> LiveContainer:
            return await self._create(key)

        return create

    def _close_idle(self, keep: PoolKey) -> None:
        now = time.monotonic()
        for key, (pool, used) in list(self._pools.items()):
            if key != keep and now - used > self.idle_seconds:
                del self._pools[key]
                self._close_soon(pool)

    def _close_soon(self, pool: WarmPool) -> None:
        task = asyncio.get_running_loop().create_task(pool.close(), name="sandbox-env-pool-close")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
