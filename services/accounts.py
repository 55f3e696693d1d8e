"""Accounts: registration, login, token refresh, logout, a password change,
and who a request speaks for.

`Accounts.session_for` is the one way from an `Authorization` value (an HTTP
header, or a WebSocket's `connection_params`) to the caller: GraphQL, REST,
the downloads and every WebSocket re-check ask it, so they refuse alike."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import logs
from core.errors import AlreadyExists, BadUserInput, Forbidden, RateLimited, Unauthenticated
from core.roles import TokenScope
from models.users import RefreshToken, User
from services.access import Caller, require_scope
from services.access_watch import access_taken_away
from services.api_tokens import ApiTokens, is_api_token
from services.credentials import (
    TokenCodec,
    bearer_token,
    check_password_strength,
    hash_password,
    normalize_username,
    verify_password,
)
from services.invites import INVITE_REQUIRED, use_invite
from services.login_throttle import LoginThrottle, client_key, username_key
from services.reach import caller_for
from services.session_cache import SessionCache

BAD_CREDENTIALS = "Wrong username or password."
DEACTIVATED = "The account is deactivated."
LOG_IN_FIRST = "Log in first: send 'Authorization: Bearer <accessToken>'."


async def end_sessions(user_id: object) -> None:
    """Revoke every refresh token of the user and tell open sockets to
    re-check (the caller has set `sessions_valid_after` or `is_active`,
    which refuses the access tokens)."""
    await RefreshToken.filter(user_id=user_id, revoked=False).update(revoked=True)
    await access_taken_away()


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
    username, password_hash = await _checked_credentials(username, password)
    return await _insert_user(username, password_hash, is_admin)


async def _checked_credentials(username: str, password: str) -> tuple[str, str]:
    """The normalized username and the password's hash (refused first when
    either is unfit)."""
    username = normalize_username(username)
    check_password_strength(password)
    # argon2 takes a large part of a second of CPU: in a thread, so the
    # event loop keeps serving other requests meanwhile.
    return username, await asyncio.to_thread(hash_password, password)


async def _insert_user(username: str, password_hash: str, is_admin: bool = False) -> User:
    try:
        return await User.create(username=username, password_hash=password_hash, is_admin=is_admin)
    except IntegrityError:
        raise AlreadyExists(f"The username '{username}' is taken.") from None


class Accounts:
    def __init__(
        self,
        tokens: TokenCodec,
        throttle: LoginThrottle,
        registration: str = "open",
        sessions: SessionCache | None = None,
    ) -> None:
        self._tokens = tokens
        # None: every session is read afresh (a process that watches no
        # access changes).
        self._sessions = sessions
        self._throttle = throttle
        # "open": anyone registers; "invite": only with an unused invite code.
        self._registration = registration
        self.api_tokens = ApiTokens()

    async def register(
        self, username: str, password: str, invite: str | None = None
    ) -> IssuedTokens:
        if self._registration != "invite":
            user = await create_user(username, password)
        else:
            if not invite:
                raise Forbidden(INVITE_REQUIRED)
            username, password_hash = await _checked_credentials(username, password)
            # One transaction: a registration that fails (a taken username)
            # leaves the code unused.
            async with in_transaction():
                await use_invite(invite)
                user = await _insert_user(username, password_hash)
        return await self._issue(user, family=secrets.token_hex(16))

    async def change_password(
        self, user: User, current: str, new: str, client_host: str | None = None
    ) -> None:
        """Set a new password after checking the current one (throttled like
        a login, so a stolen session cannot guess it). Every session of the
        user ends: access tokens issued before now are refused, every refresh
        token is revoked, and open sockets are told. API tokens stay."""
        key, address = user.username, client_key(client_host)
        await self._refuse_if_throttled(key, address)
        if not await asyncio.to_thread(verify_password, user.password_hash, current):
            await self._throttle.record_failure(key, address)
            raise BadUserInput("The current password is wrong.")
        await self._throttle.reset(key, address)
        check_password_strength(new)
        password_hash = await asyncio.to_thread(hash_password, new)
        await User.filter(id=user.id).update(
            password_hash=password_hash, sessions_valid_after=datetime.now(UTC)
        )
        await end_sessions(user.id)

    async def logout(self, refresh_token: str) -> None:
        """End the login a refresh token belongs to: its whole family, so
        neither it nor any token rotated from it refreshes again, and the
        access tokens issued with them (they carry the family) are refused
        from the next request on; open sockets are told."""
        claims = self._tokens.decode(refresh_token, "refresh")
        if claims.family:
            await RefreshToken.filter(family=claims.family).update(revoked=True)
        else:
            await RefreshToken.filter(jti=claims.jti).update(revoked=True)
        await access_taken_away()

    async def login(
        self, username: str, password: str, client_host: str | None = None
    ) -> IssuedTokens:
        """`client_host` is the socket peer: failures are throttled per
        (username, address), so another address cannot lock the owner out."""
        key = username_key(username)
        address = client_key(client_host)
        await self._refuse_if_throttled(key, address)
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

    async def session_for(self, authorization: str | None, fresh: bool = False) -> AccessSession:
        """Who an `Authorization` value speaks for, with what they
        reach: UNAUTHENTICATED when it holds no bearer token, or an access
        token that is expired, forged, of another type, issued before the
        password changed, or of an account deleted or deactivated; or an API
        token unknown, revoked or expired. A login's session may be one read
        before, while no access has changed since (services/session_cache.py),
        unless `fresh`."""
        token = bearer_token(authorization)
        if token is None:
            raise Unauthenticated(LOG_IN_FIRST)
        if is_api_token(token):
            user, hold = await self.api_tokens.authenticate(token)
            logs.note_user(str(user.id))
            return AccessSession(caller=await caller_for(user, hold), expires_at=hold.expires_at)
        if self._sessions is None:
            return await self._login_session(token)
        kept = None if fresh else self._sessions.get(token)
        if kept is not None:
            return kept
        revision = self._sessions.revision()
        try:
            session = await self._login_session(token)
        except Unauthenticated:
            self._sessions.forget(token)
            raise
        self._sessions.keep(token, revision, session)
        return session

    async def _login_session(self, token: str) -> AccessSession:
        claims = self._tokens.decode(token, "access")
        user = await self._live_user(claims.user_id, claims.issued_at)
        # The login it came with has ended (logged out, or a replayed refresh
        # token revoked its chain). Tokens from before families were carried
        # have none, and last until they expire.
        if claims.family is not None and await RefreshToken.exists(
            family=claims.family, revoked=True
        ):
            raise Unauthenticated("This login has ended (logged out); log in again.")
        logs.note_user(str(user.id))
        return AccessSession(caller=await caller_for(user), expires_at=claims.expires_at)

    async def caller_with_scope(
        self, authorization: str | None, scope: TokenScope, doing: str
    ) -> Caller:
        """The caller of a plain HTTP request (REST, downloads), refused
        FORBIDDEN when it speaks through a token without `scope`."""
        caller = (await self.session_for(authorization)).caller
        require_scope(caller, scope, doing)
        return caller

    async def _refuse_if_throttled(self, key: str, address: str) -> None:
        retry_after = await self._throttle.retry_after(key, address)
        if retry_after > 0:
            raise RateLimited(
                f"Too many failed logins; try again in {retry_after} seconds.",
                retryAfterSeconds=retry_after,
            )

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
        access, _ = self._tokens.issue(user.id, "access", family=family)
        refresh, claims = self._tokens.issue(user.id, "refresh", family=family)
        await RefreshToken.create(
            jti=claims.jti, user_id=user.id, family=family, expires_at=claims.expires_at
        )
        return IssuedTokens(access_token=access, refresh_token=refresh, user=user)
