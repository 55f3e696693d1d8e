"""What admins do to accounts, in GraphQL."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.accounts import UserType
from resolvers.context import Context
from services import account_admin
from services.invites import create_invite


@strawberry.type
class AccountAdminQuery:
    @strawberry.field(
        description=(
            "Admins: users whose username contains `search`, ordered by username. "
            f"`first`: 1 to {account_admin.MAX_PAGE} (default {account_admin.MAX_PAGE}); "
            "`after`: the username (or id) of the last user of the previous page."
        )
    )
    async def users(
        self,
        info: Info[Context, None],
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> list[UserType]:
        caller = await info.context.caller()
        rows = await account_admin.list_users(caller, search, first, after)
        return [UserType.from_model(row) for row in rows]


@strawberry.type
class AccountAdminMutation:
    @strawberry.mutation(
        description=(
            "Admins: deactivate or reactivate another user. A deactivated user's sessions "
            "end and their API tokens, sockets and schedules stop; reactivated, their "
            "tokens and schedules resume and they log in again."
        )
    )
    async def set_user_active(
        self, info: Info[Context, None], user_id: strawberry.ID, active: bool
    ) -> UserType:
        caller = await info.context.caller()
        return UserType.from_model(await account_admin.set_active(caller, str(user_id), active))

    @strawberry.mutation(
        description="Admins: make another user an admin, or not (never the last active one)."
    )
    async def set_user_admin(
        self, info: Info[Context, None], user_id: strawberry.ID, admin: bool
    ) -> UserType:
        caller = await info.context.caller()
        return UserType.from_model(await account_admin.set_admin(caller, str(user_id), admin))

    @strawberry.mutation(
        description=(
            "Admins: a single-use registration code for `register(invite: ...)`, shown only now."
        )
    )
    async def create_invite(self, info: Info[Context, None]) -> str:
        caller = await info.context.caller()
        return await create_invite(caller, info.context.services.settings.invite_ttl_hours)

    @strawberry.mutation(description="Admins: make an account (it logs in with this password).")
    async def create_user(
        self, info: Info[Context, None], username: str, password: str, admin: bool = False
    ) -> UserType:
        caller = await info.context.caller()
        row = await account_admin.create_user_as_admin(caller, username, password, admin)
        return UserType.from_model(row)
