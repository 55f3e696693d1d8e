"""Taking, keeping and giving back a lease (models/leases.py): the work it
names runs in one process at a time, across every process on the database.

Each step is one short statement: the UPDATE that takes the lease is
conditional on it being free, expired or already ours, so of several
processes trying at once exactly one gets it, on SQLite and PostgreSQL
alike, and no transaction stays open while the work runs. A holder that
dies lets the lease expire; the work must then be safe to start over."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models.leases import Lease


async def take(name: str, holder: str, ttl: timedelta) -> bool:
    """Whether `holder` now holds the lease `name` (taken or renewed) until
    `ttl` from now."""
    now = datetime.now(UTC)
    if not await Lease.exists(name=name):
        # Created expired: the UPDATE below is still what takes it (another
        # process may have created it first).
        with contextlib.suppress(IntegrityError):
            await Lease.create(name=name, holder=None, expires_at=now)
    taken = await Lease.filter(
        Q(expires_at__lte=now) | Q(holder=holder) | Q(holder=None), name=name
    ).update(holder=holder, expires_at=now + ttl)
    return taken == 1


async def give_back(name: str, holder: str) -> None:
    """Free the lease at once, if `holder` still holds it."""
    await Lease.filter(name=name, holder=holder).update(holder=None, expires_at=datetime.now(UTC))
