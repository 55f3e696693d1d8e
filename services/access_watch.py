"""How open sockets learn that access was taken away, within a second, on
one process or many.

Whatever takes access away (a token revoked, a user deactivated, a password
changed, a grant or a group membership removed, an admin demoted) calls
`access_taken_away`, which bumps one counter row in the database. Each API
process polls that row (one tiny query every `interval` seconds) and
wakes its sockets, which then re-read their caller: refused, they end
their streams and close; still allowed but reaching less, they end their
subscriptions with an error so each is re-checked when the client subscribes again.

What gives access (a grant, a membership, an admin role) calls
`access_given`, which bumps the same counter: sockets re-check and find
nothing narrowed, but sessions cached by that counter (services/session_cache.py)
are read afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from tortoise.expressions import F

from models.teams import AccessGeneration

ROW_ID = 1
log = logging.getLogger(__name__)

# Changes made by this process, counted as soon as they are written: its own
# cached sessions must not wait for the next poll to see them.
_changes_here = 0


async def access_taken_away() -> None:
    await _bump()


async def access_given() -> None:
    await _bump()


async def _bump() -> None:
    global _changes_here
    updated = await AccessGeneration.filter(id=ROW_ID).update(generation=F("generation") + 1)
    if not updated:
        # The first bump ever: make the row (another process may race us).
        _, created = await AccessGeneration.get_or_create(id=ROW_ID, defaults={"generation": 1})
        if not created:
            await AccessGeneration.filter(id=ROW_ID).update(generation=F("generation") + 1)
    _changes_here += 1


async def current_generation() -> int:
    row = await AccessGeneration.get_or_none(id=ROW_ID)
    return int(row.generation) if row is not None else 0


class AccessWatch:
    """One per API process: polls the counter from `start` to `close` (so a
    change made just before a socket starts listening is not missed)."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._changed = asyncio.Condition()
        self._seen: int | None = None
        # Changes this process has observed; listeners wait for it to move.
        self._epoch = 0
        self._poller: asyncio.Task[None] | None = None
        # Called (synchronously) at each change: a socket listens with a
        # callback rather than a task of its own, which idle sockets by the
        # thousand would each hold.
        self._listeners: set[Callable[[], None]] = set()

    @property
    def revision(self) -> tuple[int, int] | None:
        """Moves at every change this process makes or observes; None while
        the watch is not polling (then nothing may be cached by it)."""
        if self._poller is None:
            return None
        return (_changes_here, self._epoch)

    async def start(self) -> None:
        self._seen = await current_generation()
        self._poller = asyncio.create_task(self._poll(), name="access-watch")

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` at every change observed from now; returns what
        stops that."""
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    async def next_change(self) -> None:
        """Return at the next change observed from now."""
        async with self._changed:
            epoch = self._epoch
            await self._changed.wait_for(lambda: self._epoch != epoch)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                generation = await current_generation()
            except Exception:  # the database blinked: try again next round
                log.warning("could not read the access generation", exc_info=True)
                continue
            if generation != self._seen:
                self._seen = generation
                async with self._changed:
                    self._epoch += 1
                    self._changed.notify_all()
                for listener in list(self._listeners):
                    try:
                        listener()
                    except Exception:  # one listener's fault is not the others'
                        log.exception("an access listener failed")

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
