"""Where a script's dependencies stand, and how a save reaches the workers.

The API side never runs pip or touches Docker. Saving a script records the
set it declares (a ``DependencySet`` row, PENDING until someone resolves it);
every worker looks for PENDING sets every second or so and resolves and
installs them in the background (``DependencyManager``), so the first run
rarely waits, whichever process or machine the worker runs on. What GraphQL
shows of a script is read back from the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from core.languages import Language
from models.dependencies import DependencySet, DependencyStatus
from models.tree import Script
from services.dependencies.claims import now
from services.dependencies.declarations import (
    PYTHON_VERSION,
    DeclarationError,
    Declared,
    declared,
)
from services.dependencies.resolution import Pin

if TYPE_CHECKING:
    from services.tree import TreeService


@dataclass(frozen=True)
class DependencyState:
    """A declared set as its script shows it."""

    status: DependencyStatus
    requirements: tuple[str, ...]  # normalised, sorted
    pins: tuple[Pin, ...]  # exact wheels, by name; none until resolved
    error: tuple[str, str] | None  # (code, message) of a failure
    python_version: str
    environment_hash: str | None
    resolved_at: datetime | None


# Declared, and nobody has recorded the set yet (the save that will is racing).
NOT_RECORDED = DependencyState(
    status=DependencyStatus.PENDING,
    requirements=(),
    pins=(),
    error=None,
    python_version=PYTHON_VERSION,
    environment_hash=None,
    resolved_at=None,
)


async def dependency_states(keys: Sequence[str]) -> list[DependencyState]:
    """The state of each declared set, by key, in one query."""
    rows = {row.key: row for row in await DependencySet.filter(key__in=list(keys))}
    return [_state(rows[key]) if key in rows else NOT_RECORDED for key in keys]


def _state(row: DependencySet) -> DependencyState:
    error = None
    # Every failure is recorded with its code; a FAILED row without one is
    # an interrupted attempt that the next run makes again.
    if row.status is DependencyStatus.FAILED and row.error_code is not None:
        error = (row.error_code, row.error_message or "")
    return DependencyState(
        status=row.status,
        requirements=tuple(row.requirements),
        pins=tuple(Pin.from_json(p) for p in row.pins),
        error=error,
        python_version=row.python_version,
        environment_hash=row.env_hash,
        resolved_at=row.resolved_at,
    )


async def script_saved(tree: TreeService, script: Script) -> None:
    """A script was saved: record the set it declares, PENDING for the
    workers to resolve and install now rather than at the first run. A set
    that FAILED is asked for again: saving is how a user says "try again"."""
    if script.dependency_key is None or script.language is not Language.PYTHON:
        return
    content = await tree.read_content(script)
    try:
        wanted = declared(content, script.requirements)
    except DeclarationError:
        return  # checked when saving; nothing to start
    if wanted is None:
        return
    await DependencySet.get_or_create(
        key=wanted.key,
        defaults={
            "python_version": PYTHON_VERSION,
            "requirements": list(wanted.requirements),
            "status": DependencyStatus.PENDING,
        },
    )
    await DependencySet.filter(key=wanted.key, status=DependencyStatus.FAILED).update(
        status=DependencyStatus.PENDING, updated_at=now()
    )


async def pending_declarations(limit: int) -> list[Declared]:
    """Sets saved and not yet taken up by any worker, oldest first."""
    rows = (
        await DependencySet.filter(status=DependencyStatus.PENDING, python_version=PYTHON_VERSION)
        .order_by("updated_at")
        .limit(limit)
    )
    found = [Declared(tuple(row.requirements)) for row in rows]
    # A row keyed otherwise was written by another version of this code.
    return [wanted for wanted, row in zip(found, rows, strict=True) if wanted.key == row.key]
