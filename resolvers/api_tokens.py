"""API tokens in GraphQL: a person makes, lists and revokes their tokens."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from core import roles
from models.teams import ApiToken as ApiTokenRow
from resolvers.context import Context
from services.tree import folder_at_path, shown_folder_path

TokenScope = strawberry.enum(
    roles.TokenScope,
    name="TokenScope",
    description=(
        "What an API token may do. READ: queries, subscriptions, downloads; RUN: also start "
        "and cancel runs, batches and schedules; WRITE: also change the tree, files and "
        "secrets; ADMIN: an admin's powers (only on an admin's token)."
    ),
)


@strawberry.type(description="An API token; its secret is shown only once, when it is made.")
class ApiToken:
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="The token's first characters, to recognize it.")
    scopes: list[TokenScope]  # type: ignore[valid-type]
    folder_path: str | None = strawberry.field(
        description="The subtree the token is held to ('~owner/...' in another's tree)."
    )
    expires_at: datetime | None
    last_used_at: datetime | None = strawberry.field(description="To the minute.")
    created_at: datetime

    @classmethod
    async def from_row(cls, row: ApiTokenRow) -> ApiToken:
        folder_path = (
            await shown_folder_path(row.owner_id, row.folder_id) if row.folder_id else None
        )
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            prefix=row.prefix,
            scopes=[roles.TokenScope(scope) for scope in row.scopes],
            folder_path=folder_path,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            created_at=row.created_at,
        )


@strawberry.type
class NewApiToken:
    token: str = strawberry.field(
        description="The secret: send it as 'Authorization: Bearer <token>'. Shown only now."
    )
    api_token: ApiToken


@strawberry.type
class ApiTokenQuery:
    @strawberry.field(description="Your API tokens that still work, newest first.")
    async def api_tokens(self, info: Info[Context, None]) -> list[ApiToken]:
        caller = await info.context.caller()
        rows = await info.context.services.accounts.api_tokens.list_for(caller)
        return [await ApiToken.from_row(row) for row in rows]


@strawberry.type
class ApiTokenMutation:
    @strawberry.mutation(
        description=(
            "Make an API token for software. `folderPath` holds it to one subtree: a path "
            "in your tree, or '~owner/...' for a folder shared with you. Only a signed-in "
            "person makes tokens."
        )
    )
    async def create_api_token(
        self,
        info: Info[Context, None],
        name: str,
        scopes: list[TokenScope],  # type: ignore[valid-type]
        expires_in_days: int | None = None,
        folder_path: str | None = None,
    ) -> NewApiToken:
        caller = await info.context.caller()
        folder_id = None
        if folder_path is not None:
            folder_id = str((await folder_at_path(caller, folder_path)).id)
        token, row = await info.context.services.accounts.api_tokens.create(
            caller, name, [roles.TokenScope(scope) for scope in scopes], expires_in_days, folder_id
        )
        return NewApiToken(token=token, api_token=await ApiToken.from_row(row))

    @strawberry.mutation(description="Revoke an API token; it stops working at once.")
    async def revoke_api_token(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        caller = await info.context.caller()
        await info.context.services.accounts.api_tokens.revoke(caller, str(id))
        return True
