"""Accounts: registration, login, token refresh, and who a request speaks for.

`Accounts.session_for` is the one way from an `Authorization` value (an HTTP
header, or a WebSocket's `connection_params`) to the caller: GraphQL, REST,
the downloads and every WebSocket re-check ask it, so they refuse alike."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from core.errors import AlreadyExists, RateLimited, Unauthenticated
from core.roles import TokenScope
from models.users import RefreshToken, User
from services.access import Caller, require_scope
from services.api_tokens import ApiTokens, is_api_token
from services.credentials import (
    TokenCodec,
    bearer_token,
    check_password_strength,
    hash_password,
    normalize_username,
    verify_password,
)
from services.login_throttle import LoginThrottle, client_key, username_key
from services.reach import caller_for

BAD_CREDENTIALS = "Wrong username or password."
DEACTIVATED = "The account is deactivated."
LOG_IN_FIRST = "Log in first: send 'Authorization: Bearer <accessToken>'."


@dataclass(frozen=True)
class AccessSession:
    """Who a bearer token speaks for, and until when (None: an API token
    without an expiry)."""

    caller: Caller
    expires_at: datetime | None

    @property
    def user(self) -> User:
        return self.caller.user


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    user: User


async def create_user(username: str, password: str, is_admin: bool = False) -> User:
    username = normalize_username(username)
    check_password_strength(password)
    # argon2 takes a large part of a second of CPU: in a thread, so the
    # event loop keeps serving other requests meanwhile.
    password_hash = await asyncio.to_thread(hash_password, password)
    try:
        return await User.create(username=username, password_hash=password_hash, is_admin=is_admin)
    except IntegrityError:
        raise AlreadyExists(f"The username '{username}' is taken.") from None


class Accounts:
    def __init__(self, tokens: TokenCodec, throttle: LoginThrottle) -> None:
        self._tokens = tokens
        self._throttle = throttle
        self.api_tokens = ApiTokens()

    async def register(self, username: str, password: str) -> IssuedTokens:
        user = await create_user(username, password)
        return await self._issue(user, family=secrets.token_hex(16))

    async def login(
        self, username: str, password: str, client_host: str | None = None
    ) -> IssuedTokens:
        """`client_host` is the socket peer: failures are throttled per
        (username, address), so another address cannot lock the owner out."""
        key = username_key(username)
        address = client_key(client_host)
        retry_after = await self._throttle.retry_after(key, address)
        if retry_after > 0:
            raise RateLimited(
                f"Too many failed logins; try again in {retry_after} seconds.",
                retryAfterSeconds=retry_after,
            )
        user = await User.get_or_none(username=key)
        # verify_password runs argon2 even for unknown users, so timing does
        # not tell which usernames exist. It takes a large part of a second
        # of CPU: in a thread, so the event loop keeps serving.
        password_hash = user.password_hash if user else None
        if not await asyncio.to_thread(verify_password, password_hash, password) or user is None:
            await self._throttle.record_failure(key, address)
            raise Unauthenticated(BAD_CREDENTIALS)
        await self._throttle.reset(key, address)
        if not user.is_active:
            raise Unauthenticated(DEACTIVATED)
        return await self._issue(user, family=secrets.token_hex(16))

    async def refresh(self, refresh_token: str) -> IssuedTokens:
        claims = self._tokens.decode(refresh_token, "refresh")
        now = datetime.now(UTC)
        # Conditional update: of two concurrent uses, exactly one wins.
        claimed = await RefreshToken.filter(
            jti=claims.jti, used_at=None, revoked=False, expires_at__gt=now
        ).update(used_at=now)
        if claimed != 1:
            row = await RefreshToken.get_or_none(jti=claims.jti)
            if row is not None and row.used_at is not None:
                # A used token came back: someone holds a copy. Revoke the
                # whole chain so neither copy works any more.
                await RefreshToken.filter(family=row.family).update(revoked=True)
            raise Unauthenticated("The refresh token is no longer valid; log in again.")
        user = await self._live_user(claims.user_id, claims.issued_at)
        return await self._issue(user, family=claims.family or secrets.token_hex(16))

    async def session_for(self, authorization: str | None) -> AccessSession:
        """Who an `Authorization` value speaks for, read afresh, with what they
        reach: UNAUTHENTICATED when it holds no bearer token, or an access
        token that is expired, forged, of another type, issued before the
        password changed, or of an account deleted or deactivated; or an API
        token unknown, revoked or expired."""
        token = bearer_token(authorization)
        if token is None:
            raise Unauthenticated(LOG_IN_FIRST)
        if is_api_token(token):
            user, hold = await self.api_tokens.authenticate(token)
            return AccessSession(caller=await caller_for(user, hold), expires_at=hold.expires_at)
        claims = self._tokens.decode(token, "access")
        user = await self._live_user(claims.user_id, claims.issued_at)
        return AccessSession(caller=await caller_for(user), expires_at=claims.expires_at)

    async def caller_with_scope(
        self, authorization: str | None, scope: TokenScope, doing: str
    ) -> Caller:
        """The caller of a plain HTTP request (REST, downloads), refused
        FORBIDDEN when it speaks through a token without `scope`."""
        caller = (await self.session_for(authorization)).caller
        require_scope(caller, scope, doing)
        return caller

    async def _live_user(self, user_id: object, issued_at: datetime) -> User:
        user = await User.get_or_none(id=user_id)
        if user is None:
            raise Unauthenticated("The account no longer exists.")
        if not user.is_active:
            raise Unauthenticated(DEACTIVATED)
        if user.sessions_valid_after is not None and issued_at < user.sessions_valid_after:
            raise Unauthenticated("The session ended (the password changed); log in again.")
        return user

    async def _issue(self, user: User, family: str) -> IssuedTokens:
        access, _ = self._tokens.issue(user.id, "access")
        refresh, claims = self._tokens.issue(user.id, "refresh", family=family)
        await RefreshToken.create(
            jti=claims.jti, user_id=user.id, family=family, expires_at=claims.expires_at
        )
        return IssuedTokens(access_token=access, refresh_token=refresh, user=user)
