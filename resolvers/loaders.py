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
from models.teams import FolderGrant, Group
from models.tree import Folder, Script, ScriptVersion
from models.users import User
from services.groups import members_of, secret_names_of
from services.people import groups_by_id, users_by_id
from services.sharing import folders_by_id, grants_on
from services.tree import folder_index, script_index, versions_by_script
from services.tree_index import FolderIndex, ScriptIndex

if TYPE_CHECKING:
    # Named in annotations only: the loaders reach the services through it.
    from resolvers.context import ApiServices

T = TypeVar("T")
V = TypeVar("V")


def _by_key(
    read: Callable[[list[str]], Awaitable[dict[str, V]]],
) -> Callable[[Sequence[str]], Awaitable[list[V | None]]]:
    """A DataLoader's batch function from a read that answers a dict by key."""

    async def load(keys: Sequence[str]) -> list[V | None]:
        found = await read(list(keys))
        return [found.get(key) for key in keys]

    return load


def _lists_by_key(
    read: Callable[[list[str]], Awaitable[dict[str, list[V]]]],
) -> Callable[[Sequence[str]], Awaitable[list[list[V]]]]:
    """The same for a read that answers a list per key."""

    async def load(keys: Sequence[str]) -> list[list[V]]:
        found = await read(list(keys))
        return [found.get(key, []) for key in keys]

    return load


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
        self.users: DataLoader[str, User | None] = DataLoader(_by_key(users_by_id))
        self.groups: DataLoader[str, Group | None] = DataLoader(_by_key(groups_by_id))
        self.folder_rows: DataLoader[str, Folder | None] = DataLoader(_by_key(folders_by_id))
        self.grants: DataLoader[str, list[FolderGrant]] = DataLoader(_lists_by_key(grants_on))
        self.members: DataLoader[str, list[User]] = DataLoader(_lists_by_key(members_of))
        self.group_secret_names: DataLoader[str, list[str]] = DataLoader(
            _lists_by_key(secret_names_of)
        )

    async def versions_of(self, script: Script) -> list[ScriptVersion]:
        return (await self.versions.get(script.owner_id)).get(str(script.id), [])

    async def _load_executions(self, ids: Sequence[str]) -> list[Execution | None]:
        rows = await self._services.executions.rows_by_id(list(ids))
        return [rows.get(execution_id) for execution_id in ids]
