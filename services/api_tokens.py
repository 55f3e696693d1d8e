"""API tokens: long-lived credentials for software.

A token is `sbx_` + a 12-character id + `_` + 43 characters of secret
(256 bits). The `sbx_` prefix lets secret scanners find a leaked one; the id
(kept as `prefix`, shown in lists and the audit log) finds its row; only a
SHA-256 of the whole token is stored (the token is high-entropy, so a fast
hash is enough) and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from datetime import UTC, datetime, timedelta

from core.errors import BadUserInput, Forbidden, NotFound, Unauthenticated
from core.roles import TokenScope
from models.teams import ApiToken
from models.users import User
from services.access import Caller, TokenHold, get_folder
from services.access_watch import access_taken_away

TOKEN_PREFIX = "sbx_"
_ID_ALPHABET = string.ascii_lowercase + string.digits
ID_LENGTH = 12
MAX_TOKENS_PER_USER = 100
MAX_EXPIRY_DAYS = 3650
MAX_NAME_LENGTH = 100
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)
TOKEN_REFUSED = "The API token is not valid (unknown, revoked or expired)."


def is_api_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_id(token: str) -> str | None:
    body = token[len(TOKEN_PREFIX) :]
    token_id, sep, secret = body.partition("_")
    if not sep or len(token_id) != ID_LENGTH or not secret:
        return None
    return token_id


class ApiTokens:
    async def create(
        self,
        caller: Caller,
        name: str,
        scopes: list[TokenScope],
        expires_in_days: int | None,
        folder_id: str | None,
    ) -> tuple[str, ApiToken]:
        """A new token of the caller's (the secret is in the first value,
        shown this once). Only a signed-in person makes tokens."""
        if caller.token is not None:
            raise_forbidden_for_tokens("create API tokens")
        name = name.strip()
        if not name or len(name) > MAX_NAME_LENGTH:
            raise BadUserInput(f"A token's name is 1 to {MAX_NAME_LENGTH} characters.")
        if not scopes:
            raise BadUserInput("A token needs at least one scope.")
        if TokenScope.ADMIN in scopes and not caller.user.is_admin:
            raise BadUserInput("Only an admin's token may have the ADMIN scope.")
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise BadUserInput(f"expiresInDays is 1 to {MAX_EXPIRY_DAYS}.")
        folder = None
        if folder_id is not None:
            folder = await get_folder(caller, folder_id)
            if str(folder.owner_id) != str(caller.id) and str(folder.id) not in caller.shared:
                # An admin sees every tree, but a token is held to what its
                # owner reaches as a person.
                raise NotFound("Folder not found.")
        if (
            await ApiToken.filter(owner_id=caller.id, revoked_at=None).count()
            >= MAX_TOKENS_PER_USER
        ):
            raise BadUserInput(f"At most {MAX_TOKENS_PER_USER} tokens per user; revoke one first.")
        token_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        row = await ApiToken.create(
            owner_id=caller.id,
            name=name,
            prefix=f"{TOKEN_PREFIX}{token_id}",
            secret_hash=_digest(token),
            scopes=sorted({scope.value for scope in scopes}),
            folder_id=folder.id if folder else None,
            expires_at=(
                datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
            ),
        )
        return token, row

    async def list_for(self, caller: Caller) -> list[ApiToken]:
        """The caller's tokens that still work, newest first."""
        now = datetime.now(UTC)
        rows = await ApiToken.filter(owner_id=caller.id, revoked_at=None).order_by("-created_at")
        return [row for row in rows if row.expires_at is None or row.expires_at > now]

    async def revoke(self, caller: Caller, token_id: str) -> ApiToken:
        """Revoke one of the caller's tokens (an admin: anyone's)."""
        if caller.token is not None:
            raise_forbidden_for_tokens("revoke API tokens")
        query = ApiToken.filter(revoked_at=None)
        if not caller.is_admin:
            query = query.filter(owner_id=caller.id)
        try:
            row = await query.get_or_none(id=token_id)
        except (ValueError, TypeError):
            row = None
        if row is None:
            raise NotFound("API token not found.")
        row.revoked_at = datetime.now(UTC)
        await row.save(update_fields=["revoked_at"])
        # Sockets opened with it close within a second.
        await access_taken_away()
        return row

    async def authenticate(self, token: str) -> tuple[User, TokenHold]:
        """The user and token an `sbx_` token speaks for; UNAUTHENTICATED when
        it is unknown, revoked, expired, or its owner is deactivated."""
        token_id = _token_id(token)
        row = None
        if token_id is not None:
            row = await ApiToken.get_or_none(prefix=f"{TOKEN_PREFIX}{token_id}").prefetch_related(
                "owner"
            )
        now = datetime.now(UTC)
        if (
            row is None
            or not hmac.compare_digest(row.secret_hash, _digest(token))
            or row.revoked_at is not None
            or (row.expires_at is not None and row.expires_at <= now)
        ):
            raise Unauthenticated(TOKEN_REFUSED, tokenPrefix=_shown_prefix(token_id))
        user: User = row.owner
        if not user.is_active:
            raise Unauthenticated("The account is deactivated.")
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
            await ApiToken.filter(id=row.id).update(last_used_at=now)
        hold = TokenHold(
            id=str(row.id),
            prefix=row.prefix,
            scopes=frozenset(TokenScope(scope) for scope in row.scopes),
            folder_id=str(row.folder_id) if row.folder_id else None,
            expires_at=row.expires_at,
        )
        return user, hold


def _shown_prefix(token_id: str | None) -> str | None:
    return f"{TOKEN_PREFIX}{token_id}" if token_id else None


def raise_forbidden_for_tokens(doing: str) -> None:
    """Some things only a signed-in person does: a token cannot mint tokens."""
    raise Forbidden(f"An API token may not {doing}; sign in as the person.")
