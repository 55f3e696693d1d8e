"""Objects no row knows: found and deleted.

Every object the service writes is named by exactly one row: a script
version's content (`scripts/<script>/…`, ScriptVersion.storage_key), a
user's file (`files/<user>/…`, StoredFile.storage_key), an artifact
(`artifacts/<execution>/…`, Artifact.storage_key) and a large output
(`outputs/<execution>/…`, Execution.output_key). Deletions remove objects
with their rows, but a process can die between the two, a run can end after
its script was deleted, and an operator can delete an account in the
database (its rows go by cascade, its objects do not). The sweep lists each
of these prefixes and deletes the objects whose key no row names.

Every writer puts its object a moment before the row that names it, so an
object younger than `grace` is never an orphan yet: the sweep leaves it for
a later round. It runs beside retention, under the same lease."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.models import Model

from models.executions import Execution
from models.files import Artifact, StoredFile
from models.tree import ScriptVersion
from storage import ObjectInfo, ObjectStore

log = logging.getLogger(__name__)

# Keys per IN (...) list: below every database's limit on one statement's parameters.
KEY_CHUNK = 500


@dataclass(frozen=True)
class OwnedPrefix:
    """Objects under `prefix` are named by `model.<column>`."""

    prefix: str
    model: type[Model]
    column: str


OWNED_PREFIXES = (
    OwnedPrefix("scripts/", ScriptVersion, "storage_key"),
    OwnedPrefix("files/", StoredFile, "storage_key"),
    OwnedPrefix("artifacts/", Artifact, "storage_key"),
    OwnedPrefix("outputs/", Execution, "output_key"),
)


@dataclass
class SweepReport:
    """What went (or, in a dry run, would go)."""

    dry_run: bool = False
    objects: int = 0
    bytes: int = 0

    def as_dict(self) -> dict[str, int | bool]:
        return {"dry_run": self.dry_run, "objects": self.objects, "bytes": self.bytes}


async def _named(owned: OwnedPrefix, keys: list[str]) -> set[str]:
    named: set[str] = set()
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start : start + KEY_CHUNK]
        found = await owned.model.filter(**{f"{owned.column}__in": chunk}).values_list(
            owned.column, flat=True
        )
        named.update(str(key) for key in found)
    return named


async def orphans(store: ObjectStore, owned: OwnedPrefix, older_than: datetime) -> list[ObjectInfo]:
    """Objects under the prefix, older than `older_than`, that no row names."""
    old = [info for info in await store.list(owned.prefix) if info.last_modified < older_than]
    named = await _named(owned, [info.key for info in old])
    return [info for info in old if info.key not in named]


async def sweep(
    store: ObjectStore, now: datetime, grace: timedelta, *, dry_run: bool = False
) -> SweepReport:
    """Delete (or, with `dry_run`, count) every orphan older than `grace`."""
    report = SweepReport(dry_run=dry_run)
    for owned in OWNED_PREFIXES:
        for info in await orphans(store, owned, now - grace):
            if not dry_run:
                await store.delete(info.key)
            report.objects += 1
            report.bytes += info.size
    if report.objects and not dry_run:
        log.info("orphan sweep deleted %s", report.as_dict())
    return report
