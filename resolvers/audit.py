"""The audit log in GraphQL: read only (nothing changes or deletes an entry)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from models.audit import AuditEntry as AuditRow
from models.users import User as UserRow
from resolvers.accounts import UserType
from resolvers.context import Context


@strawberry.type
class AuditEntry:
    id: strawberry.ID
    at: datetime
    actor: UserType | None = strawberry.field(
        description="Who acted (null: nobody signed in, or the account is gone)."
    )
    actor_name: str | None = strawberry.field(
        description="The actor's username then, or the username tried at a failed login."
    )
    token_prefix: str | None = strawberry.field(
        description="The prefix of the API token the actor used, or of the refused token."
    )
    action: str = strawberry.field(
        description="The mutation's name (e.g. deleteScript), rest.runScript, or apiTokenRefused."
    )
    object_type: str | None
    object_id: strawberry.ID | None
    outcome: str = strawberry.field(description='"ok", or the error code it ended with.')
    client_address: str | None

    @classmethod
    def from_row(cls, row: AuditRow, actor: UserRow | None) -> AuditEntry:
        return cls(
            id=strawberry.ID(str(row.id)),
            at=row.at,
            actor=UserType.from_model(actor) if actor is not None else None,
            actor_name=row.actor_name,
            token_prefix=row.token_prefix,
            action=row.action,
            object_type=row.object_type,
            object_id=strawberry.ID(row.object_id) if row.object_id is not None else None,
            outcome=row.outcome,
            client_address=row.client_address,
        )


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description=(
            "Audit entries, oldest first (newest first with `newestFirst`): an admin reads "
            "all; anyone else what they did and what was done to what they own. Page with "
            "`after` (the last id read); `first` is 1 to 200 (default 50)."
        )
    )
    async def audit_log(
        self,
        info: Info[Context, None],
        actor_id: strawberry.ID | None = None,
        object_id: strawberry.ID | None = None,
        action: str | None = None,
        since: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
        newest_first: bool = False,
    ) -> list[AuditEntry]:
        caller = await info.context.caller()
        rows = await info.context.services.audit.page(
            caller,
            actor_id=actor_id,
            object_id=object_id,
            action=action,
            since=since,
            first=first,
            after=after,
            newest_first=newest_first,
        )
        actor_ids = {row.actor_id for row in rows if row.actor_id is not None}
        users = {
            str(user.id): user
            for user in (await UserRow.filter(id__in=list(actor_ids)) if actor_ids else [])
        }
        return [AuditEntry.from_row(row, users.get(str(row.actor_id))) for row in rows]
