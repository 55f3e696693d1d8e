"""The audit log: recording what was done, reading it back, forgetting old entries.

Writing an entry never changes the outcome of the request it describes: a
write that fails is logged at ERROR with the entry's content (which never
holds a secret: no password, token or secret value is ever recorded) and
counted in `failed_writes`. Through the API the log is append-only: there
is no way to change or delete an entry; only `prune` (retention) deletes.

Who reads what: an admin reads every entry; anyone else the entries they
are the actor of, and those about objects they own (`object_owner_id`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.models import Model

from core.errors import BadUserInput, Unauthenticated
from models.audit import AuditEntry
from models.batches import Batch
from models.executions import Execution
from models.schedules import Schedule
from models.tree import Folder, Script
from services.access import Caller
from services.api_tokens import is_api_token
from services.credentials import bearer_token

log = logging.getLogger(__name__)

DEFAULT_PAGE = 50
MAX_PAGE = 200
# Retention deletes at most this many entries per round, so a large backlog
# (retention just turned on) never holds the database in one long statement.
PRUNE_BATCH = 1000
PRUNE_INTERVAL_SECONDS = 60.0
TOKEN_REFUSED = "apiTokenRefused"
# Column widths of models/audit.py: a longer value is cut, never refused.
_WIDTHS = {
    "actor_name": 64,
    "token_prefix": 16,
    "action": 64,
    "object_type": 32,
    "object_id": 64,
    "outcome": 40,
    "client_address": 64,
}


@dataclass(frozen=True)
class AuditRecord:
    """One entry to write (the database stamps `at` and `id`)."""

    action: str
    outcome: str
    actor_id: str | None = None
    actor_name: str | None = None
    token_prefix: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    object_owner_id: str | None = None
    client_address: str | None = None

    def columns(self) -> dict[str, Any]:
        return {
            name: value[: _WIDTHS[name]] if value is not None and name in _WIDTHS else value
            for name, value in asdict(self).items()
        }


def actor_fields(caller: Caller | None) -> dict[str, str | None]:
    """Who acted, as an entry records it (nothing: nobody signed in)."""
    if caller is None:
        return {}
    return {
        "actor_id": str(caller.user.id),
        "actor_name": caller.user.username,
        "token_prefix": caller.token.prefix if caller.token is not None else None,
    }


def refused_token_prefix(refusal: Unauthenticated | None) -> str | None:
    if refusal is None:
        return None
    prefix = refusal.extensions.get("tokenPrefix")
    return prefix if isinstance(prefix, str) else None


class AuditLog:
    def __init__(self, retention_days: int) -> None:
        self.retention_days = retention_days
        # Writes that failed since the process started (each was logged).
        self.failed_writes = 0
        self._pruner: asyncio.Task[None] | None = None

    async def record(self, record: AuditRecord) -> None:
        """Write one entry; never raises (see the module's docstring)."""
        try:
            await AuditEntry.create(**record.columns())
        except Exception:
            self.write_failed(f"the audit entry {record.columns()}")

    def write_failed(self, what: str) -> None:
        """Count and log (at ERROR, with the traceback being handled) an
        entry that could not be written; `what` describes it, without secrets."""
        self.failed_writes += 1
        log.error("could not write %s", what, exc_info=True)

    async def token_refused(
        self, refusal: Unauthenticated, authorization: str | None, client_address: str | None
    ) -> None:
        """Record a refused API token (an `sbx_` one: unknown, revoked,
        expired, or of a deactivated owner). Other refusals (no token, an
        expired session) are not token uses and are not recorded here."""
        token = bearer_token(authorization)
        if token is None or not is_api_token(token):
            return
        await self.record(
            AuditRecord(
                action=TOKEN_REFUSED,
                outcome=refusal.code.value,
                token_prefix=refused_token_prefix(refusal),
                client_address=client_address,
            )
        )

    async def page(
        self,
        caller: Caller,
        *,
        actor_id: str | None = None,
        object_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
        newest_first: bool = False,
    ) -> list[AuditEntry]:
        """Entries the caller may read, oldest (or newest) first, after the
        cursor `after` (the id of the last entry of the previous page)."""
        size = DEFAULT_PAGE if first is None else first
        if not 1 <= size <= MAX_PAGE:
            raise BadUserInput(f"first is 1 to {MAX_PAGE}.")
        query = AuditEntry.all()
        if not caller.is_admin:
            query = query.filter(Q(actor_id=caller.id) | Q(object_owner_id=caller.id))
        if actor_id is not None:
            query = query.filter(actor_id=_uuid(actor_id, "actorId"))
        if object_id is not None:
            query = query.filter(object_id=object_id)
        if action is not None:
            query = query.filter(action=action)
        if since is not None:
            query = query.filter(at__gte=since)
        if after is not None:
            cursor = _cursor(after)
            query = query.filter(id__lt=cursor) if newest_first else query.filter(id__gt=cursor)
        return await query.order_by("-id" if newest_first else "id").limit(size)

    async def prune(self, now: datetime | None = None) -> int:
        """Delete one batch of entries older than the retention; how many.
        Nothing when retention is 0 (keep for ever)."""
        if self.retention_days <= 0:
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.retention_days)
        ids = (
            await AuditEntry.filter(at__lt=cutoff)
            .order_by("id")
            .limit(PRUNE_BATCH)
            .values_list("id", flat=True)
        )
        if not ids:
            return 0
        return await AuditEntry.filter(id__in=list(ids)).delete()

    async def start(self) -> None:
        if self.retention_days > 0:
            self._pruner = asyncio.create_task(self._prune_forever(), name="audit-retention")

    async def close(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
            self._pruner = None

    async def _prune_forever(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception:  # the database blinked: try again next round
                log.warning("could not prune the audit log", exc_info=True)
            await asyncio.sleep(PRUNE_INTERVAL_SECONDS)


def _uuid(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadUserInput(f"{what} is not a user id.") from None


def _cursor(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise BadUserInput("after is the id of an entry (the last of the previous page).") from None


# Objects whose owner an entry can name by reading one row by its id: who
# owns a folder, script, run, batch or schedule reads what was done to it.
OWNED_TYPES: dict[str, type[Model]] = {
    "Folder": Folder,
    "Script": Script,
    "Execution": Execution,
    "Batch": Batch,
    "Schedule": Schedule,
}


async def owner_of(object_type: str | None, object_id: str | None) -> str | None:
    """The owner of an object of OWNED_TYPES by its id (None: another type,
    or no such row)."""
    model = OWNED_TYPES.get(object_type or "")
    if model is None or object_id is None:
        return None
    try:
        rows = await model.filter(id=uuid.UUID(object_id)).values_list("owner_id", flat=True)
    except ValueError:
        return None
    except Exception:
        # The entry is still written, only without its owner.
        log.warning("could not read the owner of %s %s", object_type, object_id, exc_info=True)
        return None
    return str(rows[0]) if rows else None
