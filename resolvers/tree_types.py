"""GraphQL object types of the tree: folders, scripts and their versions. Each
wraps a model row and resolves relations through the request's loaders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info
from strawberry.types.lazy_type import LazyType

from core import languages
from core.errors import NotFound
from models import tree as tree_models
from resolvers.accounts import UserType
from resolvers.context import Context
from resolvers.dependencies import ScriptDependencies, script_dependencies
from resolvers.imports import ScriptImport, imports_of
from resolvers.team_types import GrantType, Role, user_by_id
from services.access import my_role, sees_in_tree
from services.sharing import lists_grants
from services.tree_index import FolderIndex, ScriptIndex

if TYPE_CHECKING:
    from resolvers.executions import ExecutionType

# Execution builds on Script (resolvers/executions.py imports this module), and
# Script.lastExecution points back: by name, as Strawberry resolves types that
# refer to each other, so the modules import one way only.
EXECUTION_TYPE: LazyType[Any, Any] = LazyType("ExecutionType", "resolvers.executions")

Language = strawberry.enum(languages.Language, name="Language")


@strawberry.type
class ScriptVersion:
    version: int
    sha256: str
    size: int
    created_at: datetime

    @classmethod
    def from_model(cls, row: tree_models.ScriptVersion) -> ScriptVersion:
        return cls(version=row.version, sha256=row.sha256, size=row.size, created_at=row.created_at)


@dataclass(frozen=True)
class TreeView:
    """The owner's whole tree, already loaded for this request: fields of
    the folders and scripts under it resolve without awaiting anything."""

    folders: FolderIndex
    scripts: ScriptIndex


@strawberry.type(name="Folder")
class FolderType:
    row: strawberry.Private[tree_models.Folder]
    view: strawberry.Private[TreeView | None] = None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field(description="Names from the top of the tree, joined by '/'.")
    def path(self, info: Info[Context, None]) -> str:
        if self.view is not None:
            return self.view.folders.path(self.row.id)
        return self._path(info)  # type: ignore[return-value]

    async def _path(self, info: Info[Context, None]) -> str:
        index = await info.context.loaders.folders.get(self.row.owner_id)
        return index.path(self.row.id)

    @strawberry.field(description="None at the top, and above a folder shared with you.")
    async def parent(self, info: Info[Context, None]) -> FolderType | None:
        caller = await info.context.caller()
        if not sees_in_tree(caller, self.row.owner_id, self.row.parent_id):
            return None
        index = await info.context.loaders.folders.get(self.row.owner_id)
        parent = index.get(self.row.parent_id)
        return FolderType(row=parent) if parent else None

    @strawberry.field
    def folders(self, info: Info[Context, None]) -> list[FolderType]:
        view = self.view
        if view is not None:
            return [
                FolderType(row=child, view=view) for child in view.folders.children(self.row.id)
            ]
        return self._folders(info)  # type: ignore[return-value]

    async def _folders(self, info: Info[Context, None]) -> list[FolderType]:
        # The owner's tree, whoever asks (a folder may be shared with them).
        caller = await info.context.caller()
        index = await info.context.loaders.folders.get(self.row.owner_id)
        return [
            FolderType(row=child)
            for child in index.children(self.row.id)
            if sees_in_tree(caller, child.owner_id, child.id)
        ]

    @strawberry.field
    def scripts(
        self, info: Info[Context, None]
    ) -> list[Annotated[ScriptType, strawberry.lazy("resolvers.tree_types")]]:
        view = self.view
        if view is not None:
            return [ScriptType(row=s, view=view) for s in view.scripts.in_folder(self.row.id)]
        return self._scripts(info)  # type: ignore[return-value]

    async def _scripts(self, info: Info[Context, None]) -> list[ScriptType]:
        caller = await info.context.caller()
        index = await info.context.loaders.scripts.get(self.row.owner_id)
        return [
            ScriptType(row=script)
            for script in index.in_folder(self.row.id)
            if sees_in_tree(caller, script.owner_id, script.folder_id)
        ]

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> UserType:
        return await user_by_id(info, self.row.owner_id)

    @strawberry.field(description="Your role here: EDITOR in your own folders.")
    async def my_role(self, info: Info[Context, None]) -> Role | None:  # type: ignore[valid-type]
        return my_role(await info.context.caller(), self.row)

    @strawberry.field(description="Who the folder is shared with (its owner and admins only).")
    async def grants(self, info: Info[Context, None]) -> list[GrantType]:
        if not lists_grants(await info.context.caller(), self.row):
            return []
        rows = await info.context.loaders.grants.load(str(self.row.id))
        return [GrantType(row=row) for row in rows]


@strawberry.type(name="Script")
class ScriptType:
    row: strawberry.Private[tree_models.Script]
    view: strawberry.Private[TreeView | None] = None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    def description(self) -> str | None:
        return self.row.description

    @strawberry.field
    def language(self) -> Language:  # type: ignore[valid-type]
        return self.row.language

    @strawberry.field(description="Names of secrets the script receives as env variables.")
    def secrets(self) -> list[str]:
        return list(self.row.secret_names)

    @strawberry.field(description="At most this many runs at once (null: no limit of its own).")
    def max_concurrent_runs(self) -> int | None:
        return self.row.max_concurrent_runs

    @strawberry.field(description="Requirements text attached to the script (Python only).")
    def requirements(self) -> str | None:
        return self.row.requirements

    @strawberry.field(description="Python dependencies: what is declared, the pins, the status.")
    async def dependencies(self, info: Info[Context, None]) -> ScriptDependencies:
        return await script_dependencies(info, self.row)

    @strawberry.field(
        description="The scripts its current version imports; a run fails while one is "
        "not resolved."
    )
    async def imports(self, info: Info[Context, None]) -> list[ScriptImport]:
        rows = await info.context.loaders.versions_of(self.row)
        current = next((r for r in rows if r.version == self.row.version), None)
        if current is None:
            return []
        content = await info.context.loaders.content.load(current.storage_key)
        folders = await info.context.loaders.folders.get(self.row.owner_id)
        return await imports_of(await info.context.caller(), self.row, content, folders)

    @strawberry.field(description="The most recently queued execution of this script.")
    async def last_execution(
        self, info: Info[Context, None]
    ) -> Annotated[ExecutionType, strawberry.lazy(EXECUTION_TYPE.module)] | None:
        if self.row.last_execution_id is None:
            return None
        row = await info.context.loaders.executions.load(str(self.row.last_execution_id))
        return EXECUTION_TYPE.resolve_type()(row=row) if row else None

    @strawberry.field(description="The current version number.")
    def version(self) -> int:
        return self.row.version

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field(description="Folder path and name, e.g. 'geology/analysis.py'.")
    def path(self, info: Info[Context, None]) -> str:
        if self.view is not None:
            folder_path = self.view.folders.path(self.row.folder_id)
            return f"{folder_path}/{self.row.name}" if folder_path else self.row.name
        return self._path(info)  # type: ignore[return-value]

    async def _path(self, info: Info[Context, None]) -> str:
        index = await info.context.loaders.folders.get(self.row.owner_id)
        folder_path = index.path(self.row.folder_id)
        return f"{folder_path}/{self.row.name}" if folder_path else self.row.name

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> UserType:
        return await user_by_id(info, self.row.owner_id)

    @strawberry.field(description="None at the top, and above a script shared with you.")
    async def folder(self, info: Info[Context, None]) -> FolderType | None:
        if not sees_in_tree(await info.context.caller(), self.row.owner_id, self.row.folder_id):
            return None
        index = await info.context.loaders.folders.get(self.row.owner_id)
        folder = index.get(self.row.folder_id)
        return FolderType(row=folder) if folder else None

    @strawberry.field(description="Every version, oldest first.")
    async def versions(self, info: Info[Context, None]) -> list[ScriptVersion]:
        rows = await info.context.loaders.versions_of(self.row)
        return [ScriptVersion.from_model(row) for row in rows]

    @strawberry.field(description="The content of the current version, or of `version` when given.")
    async def content(self, info: Info[Context, None], version: int | None = None) -> str:
        wanted = self.row.version if version is None else version
        rows = await info.context.loaders.versions_of(self.row)
        row = next((r for r in rows if r.version == wanted), None)
        if row is None:
            raise NotFound(f"Version {wanted} of this script does not exist.")
        return await info.context.loaders.content.load(row.storage_key)


@strawberry.type
class Tree:
    """The top level of one user's tree; for a token held to a folder, that
    folder alone. The executor answers the common selections of a tree from
    plain rows (resolvers/tree_plan.py); these resolvers answer the rest."""

    # Whose tree (None: an empty one) and, for a held token, its folder.
    owner_id: strawberry.Private[str | None]
    held: strawberry.Private[tree_models.Folder | None] = None

    @property
    def held_folder_id(self) -> str | None:
        return None if self.held is None else str(self.held.id)

    async def _view(self, info: Info[Context, None]) -> TreeView | None:
        if self.owner_id is None:
            return None
        folders = await info.context.loaders.folders.get(self.owner_id)
        scripts = await info.context.loaders.scripts.get(self.owner_id)
        return TreeView(folders, scripts)

    @strawberry.field
    async def folders(self, info: Info[Context, None]) -> list[FolderType]:
        view = await self._view(info)
        if view is None:
            return []
        if self.held is not None:
            return [FolderType(row=self.held, view=view)]
        return [FolderType(row=f, view=view) for f in view.folders.children(None)]

    @strawberry.field
    async def scripts(self, info: Info[Context, None]) -> list[ScriptType]:
        view = await self._view(info)
        if view is None or self.held is not None:
            return []
        return [ScriptType(row=s, view=view) for s in view.scripts.in_folder(None)]
