"""Each request observed: its request id (on every log line, and in the
GraphQL context, so an internal error's reference is the one in the logs),
its span when tracing is on, and its count by route, GraphQL operation and
status; and GET /metrics, which shows those counts and the rest.

/metrics is protected by a bearer token (SCRIPTBOX_METRICS_TOKEN), not by an
address of its own: the service keeps one port, a scraper sends a header it
can send anyway, and without the setting the endpoint is off (404)."""

from __future__ import annotations

import hmac
import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import logs, metrics, tracing
from core.errors import ClientErrorCode
from core.settings import Settings
from graphql_api.http_errors import error_response
from services.credentials import bearer_token
from services.scrape_reads import queue_depth

# Where a request went, by the first part of its path: a bounded label.
ROUTES = ("graphql", "api", "files", "artifacts", "static", "healthz", "metrics")
# Set on the request's state by the GraphQL schema (graphql_api/schema.py).
OPERATION_STATE = "graphql_operation"
REQUEST_ID_STATE = "request_id"
TRACE_HEADERS = (b"traceparent", b"tracestate")


def route_label(path: str) -> str:
    first = path.strip("/").split("/", 1)[0]
    if not first:
        return "/"
    return f"/{first}" if first in ROUTES else "other"


class ObservedRequests:
    """ASGI middleware: ids for the logs, a span, and the request counter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        state = scope.setdefault("state", {})
        state[REQUEST_ID_STATE] = request_id
        route = route_label(scope["path"])
        status = 500  # unless a response starts

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        name = f"{scope.get('method', 'WEBSOCKET')} {route}"
        with (
            logs.handling(request_id=request_id),
            tracing.span(
                name, {"http.route": route, "request_id": request_id}, parent=_trace_headers(scope)
            ),
        ):
            try:
                await self.app(scope, receive, observed_send)
            finally:
                if scope["type"] == "http":
                    operation = (
                        metrics.operation_label(state.get(OPERATION_STATE))
                        if route == "/graphql"
                        else "none"
                    )
                    metrics.HTTP_REQUESTS.labels(
                        route=route, operation=operation, status=str(status)
                    ).inc()


def _trace_headers(scope: Scope) -> dict[str, str]:
    # Only the W3C trace headers: this frame lives as long as the request,
    # which for a WebSocket is the whole connection.
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in TRACE_HEADERS
    }


def metrics_route(settings: Settings) -> Route:
    expected = settings.metrics_token

    async def scrape(request: Request) -> Response:
        if expected is None:
            return error_response(
                ClientErrorCode.NOT_FOUND, "Metrics are off; set SCRIPTBOX_METRICS_TOKEN."
            )
        given = bearer_token(request.headers.get("authorization")) or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return error_response(
                ClientErrorCode.UNAUTHENTICATED,
                "GET /metrics needs 'Authorization: Bearer <SCRIPTBOX_METRICS_TOKEN>'.",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        scraped = [
            (
                "scriptbox_queue_depth",
                "Executions queued and not yet claimed, read from the database.",
                float(await queue_depth()),
            )
        ]
        return Response(metrics.exposition(scraped), media_type=metrics.CONTENT_TYPE)

    return Route("/metrics", scrape, methods=["GET"])
