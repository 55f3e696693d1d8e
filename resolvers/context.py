"""Per-request GraphQL context: who is asking, the services a request may use,
and the request's loaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from core.errors import Unauthenticated
from models.users import User
from resolvers.loaders import Loaders
from services.credentials import bearer_token

if TYPE_CHECKING:
    # Named in annotations only: importing the context loads no service.
    from core.settings import Settings
    from services.accounts import Accounts
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
        self.request_id = uuid.uuid4().hex[:16]
        self._loaders: Loaders | None = None
        # Set by the WebSocket protocols from the connection_init payload.
        self.connection_params: dict[str, Any] | None = None
        self._user: User | None = None
        # When the caller's access token stops being valid (None: no token).
        self.token_expires_at: datetime | None = None
        self._user_error: Unauthenticated | None = None
        self._resolved = False

    @property
    def loaders(self) -> Loaders:
        """Made on first use: most requests (e.g. `me`) never need them."""
        if self._loaders is None:
            self._loaders = Loaders(self.services.store)
        return self._loaders

    def _authorization(self) -> str | None:
        if self.connection_params is not None:
            for key, value in self.connection_params.items():
                if key.lower() == "authorization" and isinstance(value, str):
                    return value
            return None
        return self.request.headers.get("authorization")

    async def user(self) -> User | None:
        """The caller, or None when no token was sent; a bad token raises."""
        if not self._resolved:
            token = bearer_token(self._authorization())
            if token is not None:
                try:
                    session = await self.services.accounts.session_from_access_token(token)
                    self._user = session.user
                    self.token_expires_at = session.expires_at
                except Unauthenticated as exc:
                    self._user_error = exc
            self._resolved = True
        if self._user_error is not None:
            raise self._user_error
        return self._user

    async def require_user(self) -> User:
        user = await self.user()
        if user is None:
            raise Unauthenticated("Log in first: send 'Authorization: Bearer <accessToken>'.")
        return user

    def forget_user(self) -> None:
        """Re-read the token on next use (a WebSocket may re-authenticate)."""
        self._resolved = False
        self._user = None
        self._user_error = None
        self.token_expires_at = None
