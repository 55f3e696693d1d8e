"""Throttle for failed logins, per (username, client address), in the database.

Keyed by the pair, so failures from one address never lock the owner out at
another. Each pair gets a few free failures; after that every further
failure locks the pair for a delay that doubles each time, up to the window.
A pair's count is forgotten once a window has passed since its last failure
(or the end of its last lock). Kept in the database, so every API process
counts the same failures.

The table stays bounded: rows past their `expires_at` are pruned whenever a
new row is written, one address gets at most `max_usernames_per_address`
rows (after that its failures for new usernames share one address-wide row,
so a username spray throttles itself), and the table as a whole at most
`max_rows` (the rows nearest expiry go first)."""

from __future__ import annotations

import ipaddress
import math
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.login_throttle import LoginFailures

# The row that counts an address's failures for usernames past its quota.
ANY_USERNAME = "*"
UNKNOWN_ADDRESS = "unknown"
# Beyond 2**30 times the first delay every delay is the cap anyway.
_MAX_DOUBLINGS = 30


def client_key(host: str | None) -> str:
    """The address a client is counted under: IPv4 as is, IPv6 by its /64
    (one host commonly holds a whole /64)."""
    if not host:
        return UNKNOWN_ADDRESS
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def username_key(username: str) -> str:
    return username.strip().lower()[:128]


class LoginThrottle:
    def __init__(
        self,
        max_failures: int,
        window_seconds: float,
        first_delay_seconds: float,
        max_usernames_per_address: int = 50,
        max_rows: int = 100_000,
    ) -> None:
        self._free_failures = max(1, max_failures)
        self._window = timedelta(seconds=max(1.0, window_seconds))
        self._first_delay = max(0.0, first_delay_seconds)
        self._max_usernames_per_address = max_usernames_per_address
        self._max_rows = max_rows

    def delay_after(self, failures: int) -> float:
        """How long a pair is locked after its `failures`-th failure."""
        if failures < self._free_failures:
            return 0.0
        doublings = min(failures - self._free_failures, _MAX_DOUBLINGS)
        return float(min(self._window.total_seconds(), self._first_delay * 2**doublings))

    async def retry_after(self, username: str, address: str) -> int:
        """Whole seconds until this pair may try again; 0 when it may now."""
        now = datetime.now(UTC)
        locked = await LoginFailures.filter(
            username__in=[username_key(username), ANY_USERNAME],
            client_address=address,
            locked_until__gt=now,
        )
        until = max((row.locked_until for row in locked if row.locked_until), default=None)
        if until is None:
            return 0
        return max(1, math.ceil((until - now).total_seconds()))

    async def record_failure(self, username: str, address: str) -> None:
        key = username_key(username)
        now = datetime.now(UTC)
        known = await LoginFailures.filter(username=key, client_address=address).exists()
        if not known and await self._address_is_full(address, now):
            key = ANY_USERNAME
        if await self._count_failure(key, address, now):
            await self._prune(now)

    async def reset(self, username: str, address: str) -> None:
        await LoginFailures.filter(username=username_key(username), client_address=address).delete()

    async def _address_is_full(self, address: str, now: datetime) -> bool:
        live = await LoginFailures.filter(client_address=address, expires_at__gt=now).count()
        return live >= self._max_usernames_per_address

    async def _count_failure(self, username: str, address: str, now: datetime) -> bool:
        """Add one failure to the pair's row; True when the row is new."""
        for _ in range(3):
            try:
                async with in_transaction():
                    # Row lock (PostgreSQL): two processes counting the same
                    # pair at once both count.
                    row = (
                        await LoginFailures.filter(username=username, client_address=address)
                        .select_for_update()
                        .first()
                    )
                    created = row is None
                    if row is None:
                        row = LoginFailures(
                            username=username,
                            client_address=address,
                            failures=0,
                            last_failed_at=now,
                            expires_at=now,
                        )
                    if row.expires_at <= now:
                        row.failures = 0
                    row.failures += 1
                    row.last_failed_at = now
                    delay = self.delay_after(row.failures)
                    row.locked_until = now + timedelta(seconds=delay) if delay else None
                    row.expires_at = (row.locked_until or now) + self._window
                    await row.save()
                return created
            except IntegrityError:
                continue  # another process created the row first: count on it
        return False

    async def _prune(self, now: datetime) -> None:
        await LoginFailures.filter(expires_at__lte=now).delete()
        excess = await LoginFailures.all().count() - self._max_rows
        if excess > 0:
            oldest = (
                await LoginFailures.all()
                .order_by("expires_at")
                .limit(excess)
                .values_list("id", flat=True)
            )
            await LoginFailures.filter(id__in=list(oldest)).delete()
