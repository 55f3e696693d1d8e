"""GraphQL object types of sharing: roles, groups and the grants of folders.
Relations resolve through the request's loaders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info
from strawberry.types.lazy_type import LazyType

from core import roles
from models import teams as team_models
from resolvers.accounts import UserType
from resolvers.context import Context

if TYPE_CHECKING:
    from resolvers.tree_types import FolderType

# Folder.grants points here and Grant.folder back: by name, so the modules
# import one way only.
FOLDER_TYPE: LazyType[Any, Any] = LazyType("FolderType", "resolvers.tree_types")

Role = strawberry.enum(roles.Role, name="Role")


async def user_by_id(info: Info[Context, None], user_id: object) -> UserType:
    row = await info.context.loaders.users.load(str(user_id))
    assert row is not None  # a foreign key: the row exists
    return UserType.from_model(row)


@strawberry.type(name="Group")
class GroupType:
    row: strawberry.Private[team_models.Group]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    async def members(self, info: Info[Context, None]) -> list[UserType]:
        rows = await info.context.loaders.members.load(str(self.row.id))
        return [UserType.from_model(row) for row in rows]

    @strawberry.field(description="Names of the group's secrets (values are never shown).")
    async def secret_names(self, info: Info[Context, None]) -> list[str]:
        return await info.context.loaders.group_secret_names.load(str(self.row.id))


@strawberry.type(name="Grant")
class GrantType:
    row: strawberry.Private[team_models.FolderGrant]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    async def folder(
        self, info: Info[Context, None]
    ) -> Annotated[FolderType, strawberry.lazy(FOLDER_TYPE.module)]:
        row = await info.context.loaders.folder_rows.load(str(self.row.folder_id))
        assert row is not None  # a foreign key: the row exists
        folder: FolderType = FOLDER_TYPE.resolve_type()(row=row)
        return folder

    @strawberry.field
    async def user(self, info: Info[Context, None]) -> UserType | None:
        if self.row.user_id is None:
            return None
        return await user_by_id(info, self.row.user_id)

    @strawberry.field
    async def group(self, info: Info[Context, None]) -> GroupType | None:
        if self.row.group_id is None:
            return None
        row = await info.context.loaders.groups.load(str(self.row.group_id))
        return GroupType(row=row) if row is not None else None

    @strawberry.field
    def role(self) -> Role:  # type: ignore[valid-type]
        return roles.Role(self.row.role)

    @strawberry.field
    async def granted_by(self, info: Info[Context, None]) -> UserType:
        return await user_by_id(info, self.row.granted_by_id)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at
