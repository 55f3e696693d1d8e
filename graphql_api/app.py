"""The Starlette application factory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from core.settings import Settings
from graphql_api import rest, service_proxy, web
from graphql_api.body_limit import BodySizeLimit
from graphql_api.downloads import download_artifact, download_file
from graphql_api.observe import ObservedRequests, metrics_route
from graphql_api.schema import build_schema
from graphql_api.view import ScriptboxGraphQL
from models import db
from resolvers.context import ApiServices

log = logging.getLogger("scriptbox")


class Background(Protocol):
    """What the process runs beside the HTTP face (its worker, its scheduler),
    started once the database is open and stopped before it closes."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def create_app(settings: Settings, services: ApiServices, background: Background) -> Starlette:
    """The HTTP face over `services`; roles/api.py builds both."""
    graphql = ScriptboxGraphQL(services, schema=build_schema(settings), graphql_ide="graphiql")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with db.opened(settings.database_url, migrate_first=settings.auto_migrate):
            await background.start()
            log.info(
                "scriptbox ready (database %s, storage %s)",
                _redact(settings.database_url),
                settings.storage_backend,
            )
            try:
                yield
            finally:
                await background.close()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            # Every method reaches the view, which answers the ones it does not
            # serve with a coded error rather than Starlette's plain text.
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            *rest.routes(),
            Route("/files/{key:path}", download_file, methods=["GET"]),
            Route("/artifacts/{execution_id}/{name}", download_artifact, methods=["GET"]),
            Route("/healthz", healthz),
            *service_proxy.routes(settings),
            metrics_route(settings),
            *web.routes(settings),
        ],
        middleware=[
            Middleware(ObservedRequests),
            Middleware(
                BodySizeLimit,
                max_json_bytes=settings.max_json_body_bytes,
                max_multipart_bytes=settings.max_upload_bytes,
                own_errors_under=(rest.PREFIX,),
                # The proxy caps what it passes on itself (its own settings).
                not_under=(service_proxy.PREFIX + "/",),
            ),
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    return app


def _redact(url: str) -> str:
    """Hide a password in a database URL before it is logged."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
