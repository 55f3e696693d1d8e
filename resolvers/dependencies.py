"""GraphQL for Python dependencies: a script's dependency status and
resolved pins, and starting the resolution when a script is saved."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from core.languages import Language
from models.dependencies import DependencySet
from models.dependencies import DependencyStatus as StoredStatus
from models.tree import Script
from resolvers.context import Context
from services.dependencies.declarations import PYTHON_VERSION, DeclarationError, declared


@strawberry.enum(description="Where a script's Python dependencies stand.")
class DependencyStatus(Enum):
    NONE = "none"  # the script declares none
    PENDING = "pending"  # declared; resolved by the first run (or a worker)
    RESOLVING = "resolving"
    INSTALLING = "installing"
    READY = "ready"
    FAILED = "failed"


@strawberry.type
class DependencyPin:
    name: str
    version: str
    file: str = strawberry.field(description="The wheel installed.")
    sha256: str
    size: int


@strawberry.type
class DependencyError:
    code: str = strawberry.field(
        description="DEPENDENCY_NOT_FOUND, DEPENDENCY_NO_WHEEL, DEPENDENCY_CONFLICT, "
        "DEPENDENCY_TOO_LARGE, DEPENDENCY_INDEX_UNAVAILABLE, DEPENDENCY_INSTALL_FAILED, ..."
    )
    message: str


@strawberry.type
class ScriptDependencies:
    status: DependencyStatus
    requirements: list[str] = strawberry.field(
        description="Declared: the '# /// script' block and the requirements text, normalised."
    )
    pins: list[DependencyPin] = strawberry.field(description="Resolved: exact wheels, by name.")
    error: DependencyError | None
    python_version: str
    environment_hash: str | None
    resolved_at: datetime | None


NO_DEPENDENCIES = ScriptDependencies(
    status=DependencyStatus.NONE,
    requirements=[],
    pins=[],
    error=None,
    python_version=PYTHON_VERSION,
    environment_hash=None,
    resolved_at=None,
)

_loaders: weakref.WeakKeyDictionary[Context, DataLoader[str, DependencySet | None]] = (
    weakref.WeakKeyDictionary()
)


async def _load_sets(keys: Sequence[str]) -> list[DependencySet | None]:
    rows = {row.key: row for row in await DependencySet.filter(key__in=list(keys))}
    return [rows.get(key) for key in keys]


def _loader(context: Context) -> DataLoader[str, DependencySet | None]:
    loader = _loaders.get(context)
    if loader is None:
        loader = _loaders[context] = DataLoader(_load_sets)
    return loader


async def script_dependencies(info: Info[Context, None], script: Script) -> ScriptDependencies:
    if script.dependency_key is None:
        return NO_DEPENDENCIES
    row = await _loader(info.context).load(script.dependency_key)
    if row is None:
        return ScriptDependencies(
            status=DependencyStatus.PENDING,
            requirements=[],
            pins=[],
            error=None,
            python_version=PYTHON_VERSION,
            environment_hash=None,
            resolved_at=None,
        )
    error = None
    # Every failure is recorded with its code; a FAILED row without one is
    # an interrupted attempt that the next run makes again.
    if row.status is StoredStatus.FAILED and row.error_code is not None:
        error = DependencyError(code=row.error_code, message=row.error_message or "")
    return ScriptDependencies(
        status=DependencyStatus(row.status.value),
        requirements=list(row.requirements),
        pins=[_pin(p) for p in row.pins],
        error=error,
        python_version=row.python_version,
        environment_hash=row.env_hash,
        resolved_at=row.resolved_at,
    )


def _pin(value: dict[str, Any]) -> DependencyPin:
    return DependencyPin(
        name=str(value["name"]),
        version=str(value["version"]),
        file=str(value["file"]),
        sha256=str(value["sha256"]),
        size=int(value["size"]),
    )


async def dependencies_saved(info: Info[Context, None], script: Script) -> None:
    """A script was saved: record what it declares and, when this process runs
    a worker, resolve and install it now rather than at the first run."""
    if script.dependency_key is None or script.language is not Language.PYTHON:
        return
    content = await info.context.services.tree.read_content(script)
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
            "status": StoredStatus.PENDING,
        },
    )
    worker = info.context.services.worker
    if worker is not None:
        worker.deps.prefetch(wanted, retry_failed=True)
