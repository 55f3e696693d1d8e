"""Accounts in GraphQL: who is asking, registering, logging in, refreshing."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import strawberry
from strawberry.types import Info

from models.users import User as UserRow
from resolvers.context import Context

if TYPE_CHECKING:
    # A type of the accounts service, named in one annotation only.
    from services.accounts import IssuedTokens


@strawberry.type(name="User")
class UserType:
    id: strawberry.ID
    username: str
    is_admin: bool
    is_active: bool = strawberry.field(
        description="A deactivated user cannot log in; their tokens and schedules pause."
    )
    created_at: datetime

    @classmethod
    def from_model(cls, row: UserRow) -> UserType:
        return cls(
            id=strawberry.ID(str(row.id)),
            username=row.username,
            is_admin=row.is_admin,
            is_active=row.is_active,
            created_at=row.created_at,
        )


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    user: UserType

    @classmethod
    def from_issued(cls, issued: IssuedTokens) -> AuthPayload:
        return cls(
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            user=UserType.from_model(issued.user),
        )


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The user who sent the access token.")
    async def me(self, info: Info[Context, None]) -> UserType:
        return UserType.from_model(await info.context.require_user())


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description=(
            "Make an account and log in. When registration is by invitation, `invite` is "
            "an unused invite code from an admin (each works once)."
        )
    )
    async def register(
        self, info: Info[Context, None], username: str, password: str, invite: str | None = None
    ) -> AuthPayload:
        return AuthPayload.from_issued(
            await info.context.services.accounts.register(username, password, invite)
        )

    @strawberry.mutation
    async def login(self, info: Info[Context, None], username: str, password: str) -> AuthPayload:
        # The socket peer: uvicorn runs without proxy headers, so a client
        # cannot choose the address its failures are counted under.
        peer = info.context.request.client
        accounts = info.context.services.accounts
        return AuthPayload.from_issued(
            await accounts.login(username, password, peer.host if peer else None)
        )

    @strawberry.mutation
    async def refresh_token(self, info: Info[Context, None], refresh_token: str) -> AuthPayload:
        return AuthPayload.from_issued(await info.context.services.accounts.refresh(refresh_token))

    @strawberry.mutation(
        description=(
            "Change your password. Returns true; every session then ends (access and "
            "refresh tokens, open sockets, this one's too): log in again with the new "
            "password. API tokens keep working."
        )
    )
    async def change_password(
        self, info: Info[Context, None], current_password: str, new_password: str
    ) -> bool:
        user = await info.context.require_user()
        peer = info.context.request.client
        await info.context.services.accounts.change_password(
            user, current_password, new_password, peer.host if peer else None
        )
        return True

    @strawberry.mutation(
        description=(
            "End the login this refresh token belongs to: it, and every token rotated "
            "from it, stops refreshing, and the access tokens issued with them are refused "
            "(open sockets close)."
        )
    )
    async def logout(self, info: Info[Context, None], refresh_token: str) -> bool:
        await info.context.services.accounts.logout(refresh_token)
        return True
