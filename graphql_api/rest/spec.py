"""A REST route together with its OpenAPI description, declared side by
side so the document (openapi.py) is written from the same list the router
serves. The route test still compares the served app's routes with the
document, which catches a route added anywhere else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from core.errors import MethodNotAllowed
from graphql_api.rest.answers import Handler, error_response

JSON = "application/json"


@dataclass(frozen=True)
class Operation:
    """One method of a path, as OpenAPI describes it."""

    handler: Handler
    summary: str
    tag: str
    responses: dict[str, Any]
    request_body: dict[str, Any] | None = None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    # Empty: no token needed (register, login).
    secured: bool = True

    def openapi(self, path_parameters: list[dict[str, Any]]) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "summary": self.summary,
            "tags": [self.tag],
            "operationId": self.handler.__name__,
            "responses": self.responses,
        }
        parameters = [*path_parameters, *self.parameters]
        if parameters:
            doc["parameters"] = parameters
        if self.request_body is not None:
            doc["requestBody"] = self.request_body
        if not self.secured:
            doc["security"] = []
        return doc


@dataclass(frozen=True)
class RestRoute:
    """`path` in Starlette's syntax (`{key:path}`); one Operation per method."""

    path: str
    operations: dict[str, Operation]

    @property
    def openapi_path(self) -> str:
        return starlette_to_openapi(self.path)

    def path_parameters(self) -> list[dict[str, Any]]:
        names = [part.split(":")[0] for part in _braced(self.path)]
        return [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in names
        ]

    def route(self) -> Route:
        handlers = {method.upper(): op.handler for method, op in self.operations.items()}

        async def dispatch(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            return await handlers[method](request)

        return JsonMethodsRoute(self.path, dispatch, methods=list(handlers))


class JsonMethodsRoute(Route):
    """A route that refuses a method it does not serve with a coded JSON
    error, as every REST answer is, rather than Starlette's plain text."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            exc = MethodNotAllowed(f"{scope['method']} is not served here.")
            response = error_response(exc)
            response.headers["Allow"] = ", ".join(sorted(self.methods))
            await response(scope, receive, send)
            return
        await super().handle(scope, receive, send)


def _braced(path: str) -> list[str]:
    return [piece.split("}")[0] for piece in path.split("{")[1:]]


def starlette_to_openapi(path: str) -> str:
    """`/api/v1/files/{key:path}/info` -> `/api/v1/files/{key}/info`."""
    for inner in _braced(path):
        path = path.replace("{" + inner + "}", "{" + inner.split(":")[0] + "}")
    return path


def json_body(schema: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"required": True, "content": {JSON: {"schema": schema}}}
    if description:
        body["description"] = description
    return body


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {JSON: {"schema": schema}}}


def errors(*statuses: int) -> dict[str, Any]:
    """The error answers an operation may give, each the `detail` shape."""
    return {str(status): answer(_REASONS[status], ref("Error")) for status in statuses}


_REASONS = {
    400: "Bad input (BAD_USER_INPUT, INVALID_SCRIPT, MALFORMED_MULTIPART).",
    401: "No valid token (UNAUTHENTICATED).",
    403: "Seen but not allowed, or a token without the scope (FORBIDDEN).",
    404: "Nothing the caller may see is there (NOT_FOUND).",
    409: "Already exists (ALREADY_EXISTS, SCRIPT_EXISTS_REPLACE_REQUIRED).",
    413: "Too large (PAYLOAD_TOO_LARGE).",
    415: "Wrong media type (UNSUPPORTED_MEDIA_TYPE).",
    429: "Too many attempts or runs (RATE_LIMITED).",
}
