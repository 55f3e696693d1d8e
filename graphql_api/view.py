"""The GraphQL endpoint: HTTP (JSON and multipart) and WebSocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationType
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, GraphQLRequestProtocol
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult

from core.errors import (
    ClientError,
    ClientErrorCode,
    MalformedMultipart,
    MalformedRequest,
    MethodNotAllowed,
    Unauthenticated,
)
from graphql_api.client_input import INLINE_LIMIT_BYTES, load_client_json_async
from graphql_api.document_checks import DocumentLimits, check_document, selected_operation_type
from graphql_api.error_handling import code_of_uncoded_message
from graphql_api.http_errors import (
    GRAPHQL_RESPONSE_JSON,
    LEGACY_JSON,
    client_error_of,
    client_error_response,
    error_response,
    response_media_type,
)
from graphql_api.http_request import (
    JSON_MEDIA_TYPE,
    check_json_media_type,
    multipart_params,
    params_of_query_string,
    request_data_of,
)
from graphql_api.tree_cache import TreeResponse, TreeResponseCache, etag_matches, request_key
from graphql_api.web import graphiql_html
from graphql_api.websocket import (
    ClientMessageAdapter,
    LegacyWSHandler,
    TransportWSHandler,
    accept_connection,
)
from resolvers.context import ApiServices, Context
from services.tree_revision import tree_revision

# A browser sends these only after a CORS preflight, so a multipart request
# that carries one cannot be a cross-site form post (CSRF).
PREFLIGHT_HEADERS = ("authorization", "apollo-require-preflight", "x-scriptbox-csrf")


class ScriptboxGraphQL(GraphQL[Context, None]):
    # WebSocket handling lives in graphql_api/websocket.py.
    graphql_ws_handler_class = LegacyWSHandler
    graphql_transport_ws_handler_class = TransportWSHandler
    websocket_adapter_class = ClientMessageAdapter

    def __init__(self, services: ApiServices, **kwargs: Any) -> None:
        super().__init__(
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            multipart_uploads_enabled=True,
            **kwargs,
        )
        self.services = services
        settings = services.settings
        self.document_limits = DocumentLimits(settings.max_query_tokens, settings.max_query_length)
        self.tree_responses = TreeResponseCache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "POST"):
            response = error_response(
                ClientErrorCode.METHOD_NOT_ALLOWED,
                f"{scope['method']} is not supported here; send GraphQL with POST (or GET "
                "for queries).",
                _media_type(scope),
                headers={"Allow": "GET, POST"},
            )
            await response(scope, receive, send)
            return
        if scope["type"] == "http" and _is_json_post(scope):
            body = await _read_body(receive)
            wants_multipart = "multipart/mixed" in _headers(scope).get("accept", "")
            if not wants_multipart and await _is_subscription(body, self.document_limits):
                response = error_response(
                    ClientErrorCode.SUBSCRIPTION_NEEDS_WEBSOCKET,
                    "Subscriptions run over a WebSocket (graphql-transport-ws or graphql-ws) "
                    "at this URL, not over a plain HTTP request.",
                    _media_type(scope),
                )
                await response(scope, receive, send)
                return
            receive = _replay(body, receive)
        if scope["type"] == "http" and _is_multipart(scope) and not _has_preflight_header(scope):
            response = error_response(
                ClientErrorCode.CSRF_PREVENTED,
                "Multipart requests need an Authorization header (or "
                "'Apollo-Require-Preflight: true').",
                _media_type(scope),
            )
            await response(scope, receive, send)
            return
        if scope["type"] == "http":
            await self._serve_http(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's HTTP path, answering every refusal as a coded GraphQL
        error in the negotiated media type (see http_errors)."""
        media_type = _media_type(scope)
        request = Request(scope, receive)
        response: Response
        tree_key, kept = await self._kept_tree_response(request, media_type)
        if kept is not None:
            assert tree_key is not None
            await _with_etag(request, _kept_response(kept), kept.etag(tree_key))(
                scope, receive, send
            )
            return
        try:
            response = await self.run(request)
        except ClientError as exc:
            response = client_error_response(exc, media_type)
        except HTTPException as exc:
            response = client_error_response(client_error_of(exc), media_type)
        else:
            _negotiate(request, response, media_type)
            if tree_key is not None:
                response = self._keep_tree_response(request, tree_key, response)
        await response(scope, receive, send)

    async def _kept_tree_response(
        self, request: Request, media_type: str
    ) -> tuple[str | None, TreeResponse | None]:
        """For a request that may ask for a tree: its cache key, and the kept
        response when its tree has not changed since (see tree_cache)."""
        params = await _tree_request_params(request)
        if params is None:
            return None, None
        # The request's context, made here to learn the caller; the run
        # below uses this same one (get_context), so the token is read once.
        context = Context(self.services, request, None)
        request.state.graphql_context = context
        try:
            session = await context.session()
        except Unauthenticated:
            return None, None
        key = request_key(session.caller, media_type, *params)
        kept = self.tree_responses.get(key)
        if kept is None:
            return key, None
        if kept.owner_id is not None and await tree_revision(kept.owner_id) != kept.revision:
            self.tree_responses.drop(key)
            return key, None
        return key, kept

    def _keep_tree_response(self, request: Request, key: str, response: Response) -> Response:
        """Keep a response that a compiled tree plan alone answered."""
        context: Context = request.state.graphql_context
        state = request.state
        if (
            isinstance(response, StreamingResponse)
            or response.status_code != 200
            or getattr(state, "graphql_results", 0) != 1
            or not getattr(state, "graphql_one_root_field", False)
            or len(context.tree_answers) != 1
        ):
            return response
        owner_id, revision = context.tree_answers[0]
        kept = TreeResponse(
            owner_id, revision, bytes(response.body), response.headers["content-type"]
        )
        self.tree_responses.put(key, kept)
        return _with_etag(request, response, kept.etag(key))

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        transport = self._get_stream_transport_from_headers(request.headers)
        protocol: GraphQLRequestProtocol = transport.protocol if transport else "http"
        if request.method == "GET":
            query_params = cast("dict[str, str]", request.query_params)
            return request_data_of(params_of_query_string(query_params), protocol)
        if check_json_media_type(request.content_type) == JSON_MEDIA_TYPE:
            return request_data_of(await load_client_json_async(await request.get_body()), protocol)
        try:
            return request_data_of(await self._multipart_params(request), protocol)
        except MalformedRequest as exc:
            raise MalformedMultipart(exc.message) from None

    async def _multipart_params(self, request: AsyncHTTPRequestAdapter) -> Any:
        try:
            form = await request.get_form_data()
        except (StarletteHTTPException, MultiPartException, ValueError) as exc:
            detail = getattr(exc, "detail", None) or getattr(exc, "message", None) or str(exc)
            raise MalformedMultipart(f"The multipart body cannot be read: {detail}") from None
        return multipart_params(form.form)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        refusal = self._refusal_of(request_adapter.method, request_data)
        if refusal is not None:
            return refusal
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    def _refusal_of(self, method: str, request_data: GraphQLRequestData) -> ExecutionResult | None:
        """A request error (nothing runs) for a document that must not run."""
        if request_data.query is None:
            return None
        try:
            check_document(
                request_data.query, request_data.operation_name, method, self.document_limits
            )
        except MethodNotAllowed:
            raise
        except ClientError as exc:
            error = GraphQLError(exc.message, extensions=exc.extensions)
            return ExecutionResult(data=None, errors=[error])
        return None

    async def render_graphql_ide(self, request: Request) -> Response:
        # GraphiQL's assets from this service when installed (offline use).
        return HTMLResponse(graphiql_html(self.graphql_ide_html))

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        # Errors raised while parsing from the parser cache skip the schema's
        # error formatting; give them their stable code here.
        response = await super().process_result(request, result)
        # What a kept tree response needs: one result, one root field, no error.
        request.state.graphql_results = getattr(request.state, "graphql_results", 0) + 1
        request.state.graphql_one_root_field = (
            not result.errors and isinstance(result.data, dict) and len(result.data) == 1
        )
        if _is_request_error(result):
            # Nothing was executed: the spec leaves "data" out, and
            # application/graphql-response+json answers 400 (see _negotiate).
            response.pop("data", None)
            request.state.graphql_request_error = True
        errors: list[dict[str, Any]] = response.get("errors") or []  # type: ignore[assignment]
        for error in errors:
            extensions = error.setdefault("extensions", {})
            if "code" not in extensions:
                extensions["code"] = code_of_uncoded_message(str(error.get("message", ""))).value
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        made: Context | None = getattr(request.state, "graphql_context", None)
        return made or Context(self.services, request, response)

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        await accept_connection(context)
        return None


async def _tree_request_params(request: Request) -> tuple[str, Any, Any] | None:
    """Query, variables and operation name of a GET or JSON POST whose text
    names `tree` (others are never kept), or None."""
    if request.method == "GET":
        query = request.query_params.get("query")
        if not query or "tree" not in query:
            return None
        return (
            query,
            request.query_params.get("variables"),
            request.query_params.get("operationName"),
        )
    if not _is_json_post(request.scope):
        return None
    body = await request.body()  # read already (and kept by the request)
    if b"tree" not in body or len(body) > INLINE_LIMIT_BYTES:
        return None  # a huge body is parsed once, off the event loop, by the run
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None  # the run answers malformed requests itself
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None
    return payload["query"], payload.get("variables"), payload.get("operationName")


def _kept_response(kept: TreeResponse) -> Response:
    return Response(kept.body, headers={"content-type": kept.content_type})


def _with_etag(request: Request, response: Response, etag: str) -> Response:
    """GET answers carry their ETag; one the client already holds gets 304."""
    if request.method != "GET":
        return response
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return response


def _media_type(scope: Scope) -> str:
    return response_media_type(_headers(scope).get("accept"))


def _is_request_error(result: ExecutionResult) -> bool:
    # Field errors carry a path; errors before execution (parse, validation,
    # variable values, operation selection) do not, and leave no data.
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or [])
    )


def _negotiate(request: Request, response: Response, media_type: str) -> None:
    """A JSON result in the media type the client asked for, with the spec's status."""
    if isinstance(response, StreamingResponse) or response.media_type != LEGACY_JSON:
        return
    if media_type == GRAPHQL_RESPONSE_JSON:
        response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
        if getattr(request.state, "graphql_request_error", False) and response.status_code == 200:
            response.status_code = 400


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


async def _is_subscription(body: bytes, limits: DocumentLimits) -> bool:
    """True when the request's operation is a subscription (cheap checks first).
    Parsed with the schema's limits: this runs before them, on any body."""
    if b"subscription" not in body:
        return False
    if len(body) > INLINE_LIMIT_BYTES:  # JSON of megabytes: off the event loop
        return await asyncio.to_thread(_names_a_subscription, body, limits)
    return _names_a_subscription(body, limits)


def _names_a_subscription(body: bytes, limits: DocumentLimits) -> bool:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return False  # the view answers malformed requests itself
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return False
    name = payload.get("operationName")
    operation_type = selected_operation_type(
        payload["query"], name if isinstance(name, str) else None, limits
    )
    return operation_type is OperationType.SUBSCRIPTION


def _is_multipart(scope: Scope) -> bool:
    return _headers(scope).get("content-type", "").lower().startswith("multipart/")


def _has_preflight_header(scope: Scope) -> bool:
    headers = _headers(scope)
    return any(headers.get(name) for name in PREFLIGHT_HEADERS)
