"""How the REST routes answer, and the one wrapper every handler runs in.

Errors answer in FastAPI's shape, which is what the Scripts Manager's front
end reads (`errorData.detail.error_code`, `.message`, `.details`):

    {"detail": {"code": "NOT_FOUND", "error_code": "NOT_FOUND",
                "message": "...", "details": {...}}}

`code` is the GraphQL `extensions.code` (the same values); `error_code` is
the same value under the name that front end reads. An unexpected error is
logged and answers INTERNAL_SERVER_ERROR with no trace of where it came from.
The run path (`run.py`) keeps the seed's own `{"success": false, "error"}`.

Every change (any method but GET) is written to the audit log as a GraphQL
mutation is: `rest.<handler>` with "ok" or the code it answered, the actor
(the caller, or the login given to register and login) and the object a
handler names with `audited_object`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import ClientError, ClientErrorCode, Unauthenticated
from core.roles import TokenScope
from resolvers.context import ApiServices
from services.access import Caller, require_scope
from services.audit import AuditRecord, actor_fields

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
    """`handler` with every failure answered as JSON with a code, and every
    change audited."""

    async def answer(request: Request) -> Response:
        try:
            response = await handler(request)
        except ClientError as exc:
            await _audit(request, handler, exc.code.value)
            return error_response(exc)
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            internal = ClientErrorCode.INTERNAL_SERVER_ERROR
            await _audit(request, handler, internal.value)
            return JSONResponse(
                error_detail(internal.value, "Internal error."), status_code=internal.http_status
            )
        await _audit(request, handler, ACCEPTED)
        return response

    answer.__name__ = handler.__name__
    answer.__doc__ = handler.__doc__
    return answer


ACCEPTED = "ok"
READS = frozenset({"GET", "HEAD"})


def audited_object(
    request: Request, object_type: str, object_id: object, owner_id: object | None = None
) -> None:
    """Name the object a change acts on, for its audit entry."""
    request.state.audit_object = (
        object_type,
        str(object_id),
        None if owner_id is None else str(owner_id),
    )


def audited_actor_name(request: Request, name: str) -> None:
    """Who signs in (register, login): no caller exists yet."""
    request.state.audit_actor_name = name.strip().lower()


async def _audit(request: Request, handler: Handler, outcome: str) -> None:
    if request.method in READS:
        return
    caller: Caller | None = getattr(request.state, "caller", None)
    actor = actor_fields(caller)
    if caller is None:
        actor["actor_name"] = getattr(request.state, "audit_actor_name", None)
    object_type, object_id, owner_id = getattr(request.state, "audit_object", (None,) * 3)
    client = request.client
    await services_of(request).audit.record(
        AuditRecord(
            action=f"rest.{handler.__name__}",
            outcome=outcome,
            object_type=object_type,
            object_id=object_id,
            object_owner_id=owner_id,
            client_address=client.host if client is not None else None,
            **actor,
        )
    )


def services_of(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


async def caller_of(request: Request, scope: TokenScope, doing: str) -> Caller:
    """Who the `Authorization` header speaks for (a login's access token or an
    API token; never a cookie, so a page on another site cannot send one),
    refused FORBIDDEN when a token lacks `scope` (as `caller_with_scope`
    does). Refused tokens are audited as on every other door."""
    services = services_of(request)
    authorization = request.headers.get("authorization")
    try:
        caller = (await services.accounts.session_for(authorization)).caller
    except Unauthenticated as exc:
        client = request.client
        await services.audit.token_refused(
            exc, authorization, client.host if client is not None else None
        )
        raise
    # Known before the scope is checked: a refusal is audited with its actor.
    request.state.caller = caller
    require_scope(caller, scope, doing)
    return caller
