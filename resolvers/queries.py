"""Query fields of the tree and accounts."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from core.errors import BadUserInput, NotFound
from graphql_api.context import Context
from models.access import get_folder, get_script, tree_owner_id
from models.tree import Script
from models.tree_ops import script_at_path
from resolvers.types import FolderType, ScriptType, Tree, TreeView, UserType


async def _tree_owner(info: Info[Context, None], owner_id: strawberry.ID | None) -> str:
    user = await info.context.require_user()
    return tree_owner_id(user, None if owner_id is None else str(owner_id))


@strawberry.type
class TreeQuery:
    @strawberry.field(description="The user who sent the access token.")
    async def me(self, info: Info[Context, None]) -> UserType:
        return UserType.from_model(await info.context.require_user())

    @strawberry.field(
        description="The whole tree in one request. Admins may pass another user's id."
    )
    async def tree(self, info: Info[Context, None], owner_id: strawberry.ID | None = None) -> Tree:
        owner = await _tree_owner(info, owner_id)
        folders = await info.context.loaders.folders.get(owner)
        scripts = await info.context.loaders.scripts.get(owner)
        view = TreeView(folders, scripts)
        return Tree(
            folders=[FolderType(row=f, view=view) for f in folders.children(None)],
            scripts=[ScriptType(row=s, view=view) for s in scripts.in_folder(None)],
        )

    @strawberry.field
    async def folder(self, info: Info[Context, None], id: strawberry.ID) -> FolderType | None:
        user = await info.context.require_user()
        try:
            return FolderType(row=await get_folder(user, id))
        except NotFound:
            return None

    @strawberry.field(
        description="A script by id, or by its path in the caller's tree "
        "(e.g. 'geology/analysis.py')."
    )
    async def script(
        self,
        info: Info[Context, None],
        id: strawberry.ID | None = None,
        path: str | None = None,
    ) -> ScriptType | None:
        user = await info.context.require_user()
        if (id is None) == (path is None):
            raise BadUserInput("Give exactly one of `id` and `path`.")
        if id is not None:
            try:
                return ScriptType(row=await get_script(user, id))
            except NotFound:
                return None
        assert path is not None
        row = await find_script_by_path(info, str(user.id), path)
        return ScriptType(row=row) if row else None


async def find_script_by_path(info: Info[Context, None], owner_id: str, path: str) -> Script | None:
    # Only walks the folder index when the path has folders in it.
    index = await info.context.loaders.folders.get(owner_id) if "/" in path.strip("/") else None
    return await script_at_path(owner_id, path, index)
