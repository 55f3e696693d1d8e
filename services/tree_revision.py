"""Each owner's tree revision: a counter in the database that every change
to the folders and scripts of their tree moves, after the change is written.

An answer computed from a tree (graphql_api/tree_cache.py keeps whole
responses) is reused only while the revision it was computed at still
stands; as the counter lives in the database, every API process sees a
change made through any other. Read the revision before reading the tree:
an answer then never claims a revision newer than its rows."""

from __future__ import annotations

import uuid

from tortoise.expressions import F

from models.tree import TreeRevision


async def tree_changed(owner_id: uuid.UUID | str) -> None:
    """Move the owner's revision on: call after the change is committed."""
    owner = str(owner_id)
    if await TreeRevision.filter(owner_id=owner).update(revision=F("revision") + 1):
        return
    # The owner's first change: make the row (another process may race us).
    _, created = await TreeRevision.get_or_create(owner_id=owner, defaults={"revision": 1})
    if not created:
        await TreeRevision.filter(owner_id=owner).update(revision=F("revision") + 1)


async def tree_revision(owner_id: uuid.UUID | str) -> int:
    """The owner's current revision (0 before their first change)."""
    found: list[int] = await TreeRevision.filter(  # type: ignore[assignment]
        owner_id=str(owner_id)
    ).values_list("revision", flat=True)
    return int(found[0]) if found else 0
