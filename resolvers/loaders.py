"""Per-request loaders: each table is read at most once per request, whatever
the shape or size of the tree a query walks. They batch and cache; the reads
themselves are the services'."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from strawberry.dataloader import DataLoader

from models.executions import Execution
from models.tree import Script, ScriptVersion
from services.tree import folder_index, script_index, versions_by_script
from services.tree_index import FolderIndex, ScriptIndex

if TYPE_CHECKING:
    # Named in annotations only: the loaders reach the services through it.
    from resolvers.context import ApiServices

T = TypeVar("T")


class _PerOwner(Generic[T]):
    """Loads one value per owner, once, even when many resolvers ask at once."""

    def __init__(self, load: Callable[[uuid.UUID | str], Awaitable[T]]) -> None:
        self._load = load
        self._tasks: dict[str, asyncio.Future[T]] = {}

    async def get(self, owner_id: uuid.UUID | str) -> T:
        key = str(owner_id)
        future = self._tasks.get(key)
        if future is None:
            future = asyncio.ensure_future(self._load(owner_id))
            self._tasks[key] = future
        return await future


class Loaders:
    def __init__(self, services: ApiServices) -> None:
        self._services = services
        self.folders: _PerOwner[FolderIndex] = _PerOwner(folder_index)
        self.scripts: _PerOwner[ScriptIndex] = _PerOwner(script_index)
        # Per owner, not per script: a nested query resolves one tree level per
        # event-loop tick, so batching by script would cost a query per level.
        self.versions: _PerOwner[dict[str, list[ScriptVersion]]] = _PerOwner(versions_by_script)
        self.content: DataLoader[str, str] = DataLoader(services.tree.read_contents)
        self.executions: DataLoader[str, Execution | None] = DataLoader(self._load_executions)

    async def versions_of(self, script: Script) -> list[ScriptVersion]:
        return (await self.versions.get(script.owner_id)).get(str(script.id), [])

    async def _load_executions(self, ids: Sequence[str]) -> list[Execution | None]:
        rows = await self._services.executions.rows_by_id(list(ids))
        return [rows.get(execution_id) for execution_id in ids]
