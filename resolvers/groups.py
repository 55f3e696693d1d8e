"""Groups in GraphQL: the groups one belongs to (an admin: all), and the
admin's changes to groups, members and group secrets."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.team_types import GroupType
from services import groups


@strawberry.type
class GroupQuery:
    @strawberry.field(description="The groups you belong to (an admin: every group).")
    async def groups(self, info: Info[Context, None]) -> list[GroupType]:
        caller = await info.context.caller()
        return [GroupType(row=row) for row in await groups.list_groups(caller)]


@strawberry.type
class GroupMutation:
    @strawberry.mutation(description="Admins only.")
    async def create_group(self, info: Info[Context, None], name: str) -> GroupType:
        caller = await info.context.caller()
        return GroupType(row=await groups.create_group(caller, name))

    @strawberry.mutation(description="Admins only: its members lose what was shared with it.")
    async def delete_group(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        caller = await info.context.caller()
        return await groups.delete_group(caller, str(id))

    @strawberry.mutation(description="Admins only.")
    async def add_group_member(
        self, info: Info[Context, None], group_id: strawberry.ID, user_id: strawberry.ID
    ) -> GroupType:
        caller = await info.context.caller()
        return GroupType(row=await groups.add_member(caller, str(group_id), str(user_id)))

    @strawberry.mutation(description="Admins only.")
    async def remove_group_member(
        self, info: Info[Context, None], group_id: strawberry.ID, user_id: strawberry.ID
    ) -> GroupType:
        caller = await info.context.caller()
        return GroupType(row=await groups.remove_member(caller, str(group_id), str(user_id)))

    @strawberry.mutation(
        description="Admins only: members' runs receive it when they have no secret by that name."
    )
    async def set_group_secret(
        self, info: Info[Context, None], group_id: strawberry.ID, name: str, value: str
    ) -> GroupType:
        caller = await info.context.caller()
        secrets = info.context.services.secrets
        return GroupType(
            row=await groups.set_group_secret(caller, secrets, str(group_id), name, value)
        )

    @strawberry.mutation(description="Admins only.")
    async def delete_group_secret(
        self, info: Info[Context, None], group_id: strawberry.ID, name: str
    ) -> bool:
        caller = await info.context.caller()
        return await groups.delete_group_secret(caller, str(group_id), name)
