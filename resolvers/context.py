"""Per-request GraphQL context: who is asking, the services a request may use,
and the request's loaders."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from core.errors import Forbidden, Unauthenticated
from models.users import User
from resolvers.loaders import Loaders
from resolvers.scopes import operation_needs
from services.access import Caller

if TYPE_CHECKING:
    # Named in annotations only: importing the context loads no service.
    from core.settings import Settings
    from services.access_watch import AccessWatch
    from services.accounts import AccessSession, Accounts
    from services.audit import AuditLog
    from services.batches import BatchService
    from services.executions.service import ExecutionService
    from services.files import FileStore
    from services.schedules import Schedules
    from services.secrets import SecretStore
    from services.tree import TreeService
    from storage import ObjectStore


@dataclass(frozen=True)
class ApiServices:
    """What an API process answers requests with (built in roles/api.py):
    GraphQL resolvers, the REST path and the downloads all use these."""

    settings: Settings
    store: ObjectStore
    accounts: Accounts
    tree: TreeService
    executions: ExecutionService
    batches: BatchService
    secrets: SecretStore
    files: FileStore
    schedules: Schedules
    access_watch: AccessWatch
    audit: AuditLog


class Context:
    def __init__(
        self,
        services: ApiServices,
        request: Request | WebSocket,
        response: Response | WebSocket | None,
    ) -> None:
        self.services = services
        self.request = request
        self.response = response
        # The id the request's log lines carry (graphql_api/observe.py).
        self.request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex[:16]
        self._loaders: Loaders | None = None
        # Set by the WebSocket protocols from the connection_init payload.
        self.connection_params: dict[str, Any] | None = None
        self._session: AccessSession | None = None
        self._refusal: Unauthenticated | None = None
        self._session_lock = asyncio.Lock()
        # A WebSocket's re-check reads the token afresh, never a kept session.
        self._fresh = False
        # (owner id, tree revision) of each tree answered from its rows by
        # a compiled plan: what a cached response depends on.
        self.tree_answers: list[tuple[str | None, int]] = []

    @property
    def loaders(self) -> Loaders:
        """Made on first use: most requests (e.g. `me`) never need them."""
        if self._loaders is None:
            self._loaders = Loaders(self.services)
        return self._loaders

    def authorization(self) -> str | None:
        """The caller's Authorization value: from a WebSocket's connection_params
        when it sent some (any letter case), else from the request's headers
        (over a WebSocket: those of its handshake)."""
        if self.connection_params is not None:
            for key, value in self.connection_params.items():
                if key.lower() == "authorization" and isinstance(value, str):
                    return value
            return None
        return self.request.headers.get("authorization")

    async def session(self) -> AccessSession:
        """Who is asking, and until when; UNAUTHENTICATED without a valid
        token. Asked once per request (per socket, until `forget_session`)."""
        # Root fields resolve concurrently: the first reads the token, the
        # others wait for its answer (one read, and one refusal recorded).
        if self._session is None and self._refusal is None:
            async with self._session_lock:
                if self._session is None and self._refusal is None:
                    await self._read_session()
        if self._refusal is not None:
            raise self._refusal
        assert self._session is not None
        return self._session

    async def _read_session(self) -> None:
        authorization = self.authorization()
        try:
            self._session = await self.services.accounts.session_for(
                authorization, fresh=self._fresh
            )
        except Unauthenticated as exc:
            self._refusal = exc
            await self.services.audit.token_refused(exc, authorization, self.client_address)

    async def caller(self) -> Caller:
        """Who is asking and what they reach; FORBIDDEN when they speak
        through an API token that lacks a scope this operation needs."""
        caller = (await self.session()).caller
        needs = operation_needs.get()
        if caller.token is not None and needs is not None:
            if None in needs:
                raise Forbidden("An API token may not do this; sign in as the person.")
            missing = sorted(
                scope.name for scope in needs if scope is not None and scope not in caller.scopes
            )
            if missing:
                raise Forbidden(
                    f"This API token lacks the {', '.join(missing)} scope this operation needs.",
                    tokenPrefix=caller.token.prefix,
                )
        return caller

    async def require_user(self) -> User:
        return (await self.caller()).user

    @property
    def current_caller(self) -> Caller | None:
        """The caller read last (None: none read, or refused)."""
        return self._session.caller if self._session is not None else None

    @property
    def refusal(self) -> Unauthenticated | None:
        """Why the caller's token was refused (None: not refused, or not read)."""
        return self._refusal

    @property
    def client_address(self) -> str | None:
        # The socket peer: uvicorn runs without proxy headers, so a client
        # cannot choose the address it is recorded under.
        client = self.request.client
        return client.host if client is not None else None

    @property
    def token_expires_at(self) -> datetime | None:
        """When the session read last stops being valid (None: none read)."""
        return self._session.expires_at if self._session is not None else None

    def forget_session(self) -> None:
        """Read the token again, afresh, on next use (a WebSocket re-checks it)."""
        self._fresh = True
        self._session = None
        self._refusal = None
