"""Per-request loaders: each table is read at most once per request, whatever
the shape or size of the tree a query walks."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from strawberry.dataloader import DataLoader

from models.executions import Execution
from models.tree import Script, ScriptVersion
from services.tree_index import FolderIndex, ScriptIndex
from storage import ObjectStore

T = TypeVar("T")
# Reading many script contents at once is I/O bound; bound the fan-out so one
# request cannot open thousands of storage connections.
CONTENT_READ_CONCURRENCY = 16


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
    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self.folders: _PerOwner[FolderIndex] = _PerOwner(FolderIndex.load)
        self.scripts: _PerOwner[ScriptIndex] = _PerOwner(ScriptIndex.load)
        # Per owner, not per script: a nested query resolves one tree level per
        # event-loop tick, so batching by script would cost a query per level.
        self.versions: _PerOwner[dict[str, list[ScriptVersion]]] = _PerOwner(self._load_versions)
        self.content: DataLoader[str, str] = DataLoader(self._load_content)
        self.executions: DataLoader[str, Execution | None] = DataLoader(self._load_executions)

    async def _load_versions(self, owner_id: uuid.UUID | str) -> dict[str, list[ScriptVersion]]:
        rows = await ScriptVersion.filter(script__owner_id=owner_id).order_by("version")
        by_script: dict[str, list[ScriptVersion]] = defaultdict(list)
        for row in rows:
            by_script[str(row.script_id)].append(row)
        return by_script

    async def versions_of(self, script: Script) -> list[ScriptVersion]:
        return (await self.versions.get(script.owner_id)).get(str(script.id), [])

    async def _load_executions(self, ids: Sequence[str]) -> list[Execution | None]:
        rows = {str(row.id): row for row in await Execution.filter(id__in=list(ids))}
        return [rows.get(execution_id) for execution_id in ids]

    async def _load_content(self, storage_keys: Sequence[str]) -> list[str]:
        semaphore = asyncio.Semaphore(CONTENT_READ_CONCURRENCY)

        async def read(key: str) -> str:
            async with semaphore:
                return (await self._store.get_bytes(key)).decode()

        return list(await asyncio.gather(*(read(key) for key in storage_keys)))
