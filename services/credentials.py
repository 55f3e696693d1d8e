"""Passwords (argon2id) and tokens (JWT, HS256).

Access tokens are short-lived and stateless. Refresh tokens are rows too, so
that each can be used once (rotation) and a replayed one revokes its family.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import BadUserInput, Unauthenticated

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
MIN_PASSWORD_LENGTH = 10
# argon2 work grows with input; a cap stops a megabyte "password" from being a DoS.
MAX_PASSWORD_LENGTH = 1024
ALGORITHM = "HS256"
ISSUER = "scriptbox"

TokenType = Literal["access", "refresh"]

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so both paths cost the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def normalize_username(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise BadUserInput(
            "Usernames are 3 to 64 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return username


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadUserInput(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadUserInput(f"Passwords may have at most {MAX_PASSWORD_LENGTH} characters.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    token_type: TokenType
    jti: str
    family: str | None
    expires_at: datetime
    issued_at: datetime


class TokenCodec:
    def __init__(self, secret: str, access_ttl: timedelta, refresh_ttl: timedelta) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def issue(
        self, user_id: uuid.UUID, token_type: TokenType, family: str | None = None
    ) -> tuple[str, TokenClaims]:
        now = datetime.now(UTC)
        ttl = self.access_ttl if token_type == "access" else self.refresh_ttl
        claims = TokenClaims(
            user_id=user_id,
            token_type=token_type,
            jti=secrets.token_hex(16),
            family=family,
            expires_at=now + ttl,
            issued_at=now,
        )
        payload: dict[str, Any] = {
            "sub": str(user_id),
            "typ": token_type,
            "jti": claims.jti,
            "iat": int(now.timestamp()),
            # iat is whole seconds; a password change must end a session
            # issued in the same second before it, and spare one issued after.
            "iat_ms": int(now.timestamp() * 1000),
            "exp": int(claims.expires_at.timestamp()),
            "iss": ISSUER,
        }
        if family:
            payload["fam"] = family
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), claims

    def decode(self, token: str, expected_type: TokenType) -> TokenClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "sub", "typ", "jti", "iss"]},
            )
            if payload["typ"] != expected_type:
                raise Unauthenticated(f"That is not an {expected_type} token.")
            return TokenClaims(
                user_id=uuid.UUID(payload["sub"]),
                token_type=expected_type,
                jti=str(payload["jti"]),
                family=payload.get("fam"),
                expires_at=datetime.fromtimestamp(payload["exp"], UTC),
                issued_at=datetime.fromtimestamp(int(payload.get("iat_ms", 0)) / 1000, UTC),
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("The token has expired; log in again.") from exc
        except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
            raise Unauthenticated("The token is not valid.") from exc


def bearer_token(header_value: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value, or None."""
    if not header_value:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
