"""GraphQL for Python dependencies: a script's dependency status and resolved
pins, and telling the service when a script was saved. What they mean and
how they are kept is services/dependencies/."""

from __future__ import annotations

import weakref
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from models.tree import Script
from resolvers.context import Context
from services.dependencies import DependencyState, dependency_states, script_saved
from services.dependencies.declarations import PYTHON_VERSION


@strawberry.enum(description="Where a script's Python dependencies stand.")
class DependencyStatus(Enum):
    NONE = "none"  # the script declares none
    PENDING = "pending"  # declared; a worker takes it up in the background
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

_loaders: weakref.WeakKeyDictionary[Context, DataLoader[str, DependencyState]] = (
    weakref.WeakKeyDictionary()
)


def _loader(context: Context) -> DataLoader[str, DependencyState]:
    """One per request: the scripts of a tree are answered in one query."""
    loader = _loaders.get(context)
    if loader is None:
        loader = _loaders[context] = DataLoader(dependency_states)
    return loader


async def script_dependencies(info: Info[Context, None], script: Script) -> ScriptDependencies:
    if script.dependency_key is None:
        return NO_DEPENDENCIES
    state = await _loader(info.context).load(script.dependency_key)
    error = None
    if state.error is not None:
        code, message = state.error
        error = DependencyError(code=code, message=message)
    return ScriptDependencies(
        status=DependencyStatus(state.status.value),
        requirements=list(state.requirements),
        pins=[
            DependencyPin(name=p.name, version=p.version, file=p.file, sha256=p.sha256, size=p.size)
            for p in state.pins
        ],
        error=error,
        python_version=state.python_version,
        environment_hash=state.environment_hash,
        resolved_at=state.resolved_at,
    )


async def dependencies_saved(info: Info[Context, None], script: Script) -> None:
    """A script was saved: the service records what it declares, and a worker
    resolves and installs it in the background."""
    await script_saved(info.context.services.tree, script)
