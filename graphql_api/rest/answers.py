"""How the REST routes answer, and the one wrapper every handler runs in.

Errors answer in FastAPI's shape, which is what the Scripts Manager's front
end reads (`errorData.detail.error_code`, `.message`, `.details`):

    {"detail": {"code": "NOT_FOUND", "error_code": "NOT_FOUND",
                "message": "...", "details": {...}}}

`code` is the GraphQL `extensions.code` (the same values); `error_code` is
the same value under the name that front end reads. An unexpected error is
logged and answers INTERNAL_SERVER_ERROR with no trace of where it came from.
The run path (`run.py`) keeps the seed's own `{"success": false, "error"}`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import ClientError, ClientErrorCode, Unauthenticated
from core.roles import TokenScope
from resolvers.context import ApiServices
from services.access import Caller

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


def error_detail(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "detail": {"code": code, "error_code": code, "message": message, "details": details or {}}
    }


def error_response(exc: ClientError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    return JSONResponse(
        error_detail(exc.code.value, exc.message, exc.extra),
        status_code=exc.http_status,
        headers=headers,
    )


def handled(handler: Handler) -> Handler:
    """`handler` with every failure answered as JSON with a code."""

    async def answer(request: Request) -> Response:
        try:
            return await handler(request)
        except ClientError as exc:
            return error_response(exc)
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            internal = ClientErrorCode.INTERNAL_SERVER_ERROR
            return JSONResponse(
                error_detail(internal.value, "Internal error."), status_code=internal.http_status
            )

    answer.__name__ = handler.__name__
    answer.__doc__ = handler.__doc__
    return answer


def services_of(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


async def caller_of(request: Request, scope: TokenScope, doing: str) -> Caller:
    """Who the `Authorization` header speaks for (a login's access token or an
    API token; never a cookie, so a page on another site cannot send one),
    refused FORBIDDEN when a token lacks `scope`. Refused tokens are audited
    as on every other door."""
    services = services_of(request)
    authorization = request.headers.get("authorization")
    try:
        return await services.accounts.caller_with_scope(authorization, scope, doing)
    except Unauthenticated as exc:
        client = request.client
        await services.audit.token_refused(
            exc, authorization, client.host if client is not None else None
        )
        raise
