"""Secrets in GraphQL: names only, never values."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from models.secrets import Secret as SecretRow
from resolvers.context import Context


@strawberry.type
class Secret:
    name: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: SecretRow) -> Secret:
        return cls(name=row.name, created_at=row.created_at, updated_at=row.updated_at)


@strawberry.type
class SecretQuery:
    @strawberry.field(description="Names of your secrets (values are never shown).")
    async def secrets(self, info: Info[Context, None]) -> list[Secret]:
        caller = await info.context.caller()
        rows = await info.context.services.secrets.list_secrets(caller)
        return [Secret.from_row(row) for row in rows]


@strawberry.type
class SecretMutation:
    @strawberry.mutation(description="Create or replace a secret.")
    async def set_secret(self, info: Info[Context, None], name: str, value: str) -> Secret:
        caller = await info.context.caller()
        return Secret.from_row(await info.context.services.secrets.set(caller, name, value))

    @strawberry.mutation
    async def delete_secret(self, info: Info[Context, None], name: str) -> bool:
        caller = await info.context.caller()
        return await info.context.services.secrets.delete(caller, name)
