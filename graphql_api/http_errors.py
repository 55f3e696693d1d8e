"""How the GraphQL endpoint answers over HTTP when a request goes wrong:
always a GraphQL response body (`{"errors": [{"message", "extensions":
{"code"}}]}`) in the media type the client accepts, with the status the
GraphQL-over-HTTP spec gives, never a plain-text body.

The spec's two media types:
- `application/graphql-response+json` (preferred by the spec): request
  errors (unreadable request, parse or validation failure, bad variables,
  no operation to run) answer 4xx, so a client can tell them from results;
- `application/json` (legacy clients, and every client that sends no Accept
  or `*/*`): a readable GraphQL request answers 200 whatever its errors; only
  a request that is not a GraphQL request at all answers 4xx.
"""

from __future__ import annotations

from collections.abc import Mapping

from cross_web import HTTPException
from starlette.responses import JSONResponse

from core.errors import (
    ClientError,
    ClientErrorCode,
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    UnsupportedMediaType,
)

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
LEGACY_JSON = "application/json"


def response_media_type(accept: str | None) -> str:
    """The spec's preferred media type when the client lists it (and does not
    prefer application/json); application/json otherwise, including for a
    missing Accept or `*/*`, as the spec asks for legacy clients."""
    if not accept:
        return LEGACY_JSON
    quality: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media.lower()] = max(q, quality.get(media.lower(), 0.0))
    preferred = quality.get(GRAPHQL_RESPONSE_JSON, 0.0)
    legacy = max(
        quality.get(LEGACY_JSON, 0.0), quality.get("application/*", 0.0), quality.get("*/*", 0.0)
    )
    return GRAPHQL_RESPONSE_JSON if preferred > 0 and preferred >= legacy else LEGACY_JSON


def error_body(code: ClientErrorCode, message: str) -> dict[str, object]:
    # No "data" entry: nothing was executed (a request error, in the spec's words).
    return {"errors": [{"message": message, "extensions": {"code": code.value}}]}


def error_response(
    code: ClientErrorCode,
    message: str,
    media_type: str = LEGACY_JSON,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A request error with the code's HTTP status."""
    return JSONResponse(
        error_body(code, message),
        status_code=code.http_status,
        media_type=media_type,
        headers=headers,
    )


def client_error_response(error: ClientError, media_type: str) -> JSONResponse:
    headers = {"Allow": "POST"} if isinstance(error, MethodNotAllowed) else None
    return error_response(error.code, error.message, media_type, headers)


def client_error_of(exc: HTTPException) -> ClientError:
    """What one of Strawberry's own plain-text refusals means, as a coded error
    (a safety net: the view checks requests before Strawberry would refuse)."""
    if exc.status_code == 405:
        return MethodNotAllowed(exc.reason)
    if exc.status_code == 415:
        return UnsupportedMediaType(exc.reason)
    if exc.status_code == 404:
        return NotFound(exc.reason)
    return MalformedRequest(exc.reason)
