"""Sharing in GraphQL: what is shared with you, and sharing your folders."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from core import roles
from resolvers.context import Context
from resolvers.team_types import GrantType, Role
from resolvers.tree_types import FolderType
from services import sharing


@strawberry.type
class SharingQuery:
    @strawberry.field(
        description="The folders shared with you or your groups, each once at its top."
    )
    async def shared_with_me(self, info: Info[Context, None]) -> list[FolderType]:
        caller = await info.context.caller()
        return [FolderType(row=row) for row in await sharing.shared_with_me(caller)]


@strawberry.type
class SharingMutation:
    @strawberry.mutation(
        description="Share a folder's subtree with one user (by id or username) or one "
        "group: exactly one of `userId`, `username` and `groupId`. Sharing again with "
        "them changes the role. Owners and admins only."
    )
    async def share_folder(
        self,
        info: Info[Context, None],
        folder_id: strawberry.ID,
        role: Role,  # type: ignore[valid-type]
        user_id: strawberry.ID | None = None,
        username: str | None = None,
        group_id: strawberry.ID | None = None,
    ) -> GrantType:
        caller = await info.context.caller()
        row = await sharing.share_folder(
            caller,
            str(folder_id),
            roles.Role(role),
            user_id=None if user_id is None else str(user_id),
            username=username,
            group_id=None if group_id is None else str(group_id),
        )
        return GrantType(row=row)

    @strawberry.mutation(description="Take a grant back. Owners and admins only.")
    async def unshare_folder(self, info: Info[Context, None], grant_id: strawberry.ID) -> bool:
        caller = await info.context.caller()
        return await sharing.unshare_folder(caller, str(grant_id))
