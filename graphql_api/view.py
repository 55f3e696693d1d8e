"""The GraphQL endpoint: HTTP (JSON and multipart) and WebSocket."""

from __future__ import annotations

import json
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult

from graphql_api.context import Context
from graphql_api.services import Services
from graphql_api.web import graphiql_html
from graphql_api.websocket import (
    ClientMessageAdapter,
    LegacyWSHandler,
    TransportWSHandler,
    accept_connection,
)

# A browser sends these only after a CORS preflight, so a multipart request
# that carries one cannot be a cross-site form post (CSRF).
PREFLIGHT_HEADERS = ("authorization", "apollo-require-preflight", "x-scriptbox-csrf")


def error_response(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
    )


class ScriptboxGraphQL(GraphQL[Context, None]):
    # WebSocket handling lives in graphql_api/websocket.py.
    graphql_ws_handler_class = LegacyWSHandler
    graphql_transport_ws_handler_class = TransportWSHandler
    websocket_adapter_class = ClientMessageAdapter

    def __init__(self, services: Services, **kwargs: Any) -> None:
        super().__init__(
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            multipart_uploads_enabled=True,
            **kwargs,
        )
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_json_post(scope):
            body = await _read_body(receive)
            if _is_subscription(body) and "multipart/mixed" not in _headers(scope).get(
                "accept", ""
            ):
                response = error_response(
                    "SUBSCRIPTION_NEEDS_WEBSOCKET",
                    "Subscriptions run over a WebSocket (graphql-transport-ws or graphql-ws) "
                    "at this URL, not over a plain HTTP request.",
                    400,
                )
                await response(scope, receive, send)
                return
            receive = _replay(body, receive)
        if scope["type"] == "http" and _is_multipart(scope) and not _has_preflight_header(scope):
            response = error_response(
                "CSRF_PREVENTED",
                "Multipart requests need an Authorization header (or "
                "'Apollo-Require-Preflight: true').",
                400,
            )
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        # GraphiQL's assets from this service when installed (offline use).
        return HTMLResponse(graphiql_html(self.graphql_ide_html))

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        # Errors raised while parsing from the parser cache skip the schema's
        # error formatting; give them their stable code here.
        response = await super().process_result(request, result)
        errors: list[dict[str, Any]] = response.get("errors") or []  # type: ignore[assignment]
        for error in errors:
            extensions = error.setdefault("extensions", {})
            if "code" not in extensions:
                message = str(error.get("message", ""))
                extensions["code"] = (
                    "GRAPHQL_PARSE_FAILED"
                    if message.startswith("Syntax Error")
                    else "GRAPHQL_VALIDATION_FAILED"
                )
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(self.services, request, response)

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        await accept_connection(context)
        return None


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _is_json_post(scope: Scope) -> bool:
    content_type = _headers(scope).get("content-type", "").lower()
    return scope["method"] == "POST" and content_type.startswith("application/json")


async def _read_body(receive: Receive) -> bytes:
    # Bounded: BodySizeLimit in front of this view caps what arrives.
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _is_subscription(body: bytes) -> bool:
    """True when the request's operation is a subscription (cheap checks first)."""
    if b"subscription" not in body:
        return False
    try:
        payload = json.loads(body)
        document = parse(payload["query"])
    except (ValueError, KeyError, TypeError, GraphQLError):
        return False  # the view answers malformed requests itself
    name = payload.get("operationName")
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name and definition.name.value == name)
        ):
            return definition.operation is OperationType.SUBSCRIPTION
    return False


def _is_multipart(scope: Scope) -> bool:
    return _headers(scope).get("content-type", "").lower().startswith("multipart/")


def _has_preflight_header(scope: Scope) -> bool:
    headers = _headers(scope)
    return any(headers.get(name) for name in PREFLIGHT_HEADERS)
