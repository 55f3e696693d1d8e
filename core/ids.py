"""Ids that clients send, turned into UUIDs in one place.

Every layer takes ids from clients (GraphQL arguments, REST paths, schedule
and batch filters). A malformed id names nothing, so it is NOT_FOUND, exactly
like the id of a row the caller may not see: the answer never tells a
malformed id from someone else's.
"""

from __future__ import annotations

import uuid

from core.errors import NotFound


def parse_id(raw: str | uuid.UUID | None, what: str) -> uuid.UUID:
    """An id from a client. A malformed id names nothing, so it is NOT_FOUND."""
    if isinstance(raw, uuid.UUID):
        return raw
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise NotFound(f"{what} not found.") from None
