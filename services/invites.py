"""Invite codes: single-use registration codes an admin hands out when
registration is by invitation (`settings.registration == "invite"`).

A code is 192 random bits; only its SHA-256 is stored (high-entropy, so a
fast hash is enough). Using one is a conditional UPDATE, so of two
registrations racing with one code exactly one wins; the caller runs it in
the same transaction as the new user's row, so a registration that fails
(a taken username) leaves the code unused."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from core.errors import Forbidden
from models.teams import Invite
from services.access import Caller, require_admin

INVITE_REQUIRED = "Registration is by invitation: ask an admin for an invite code."
INVITE_REFUSED = "The invite code is not valid (unknown, already used or expired)."


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def create_invite(caller: Caller, ttl_hours: int) -> str:
    """A new code (shown this once), valid for `ttl_hours`."""
    require_admin(caller, "create invites")
    code = secrets.token_urlsafe(24)
    await Invite.create(
        code_hash=_digest(code),
        created_by_id=caller.id,
        expires_at=datetime.now(UTC) + timedelta(hours=ttl_hours),
    )
    return code


async def use_invite(code: str | None) -> None:
    """Mark the code used; FORBIDDEN when there is none, or it is unknown,
    used or expired. Call it inside the registration's transaction."""
    if not code:
        raise Forbidden(INVITE_REQUIRED)
    now = datetime.now(UTC)
    claimed = await Invite.filter(
        code_hash=_digest(code.strip()), used_at=None, expires_at__gt=now
    ).update(used_at=now)
    if claimed != 1:
        raise Forbidden(INVITE_REFUSED)
