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
    created_at: datetime

    @classmethod
    def from_model(cls, row: UserRow) -> UserType:
        return cls(
            id=strawberry.ID(str(row.id)),
            username=row.username,
            is_admin=row.is_admin,
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
    @strawberry.mutation
    async def register(
        self, info: Info[Context, None], username: str, password: str
    ) -> AuthPayload:
        return AuthPayload.from_issued(
            await info.context.services.accounts.register(username, password)
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
