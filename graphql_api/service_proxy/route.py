"""The route `/services/{id}/{path}`: who may reach a service, then the pipe.

A caller is whoever the `Authorization` header speaks for (as on the REST
face; never a cookie, so a page on another site cannot borrow a session),
or nobody. Anonymous requests are rate-limited per client address before
anything else happens, so a flood costs no database work; then
`reachable_service` decides (NOT_FOUND for a service the caller may not
see, FORBIDDEN for a token that may not reach it) and `forward` passes the
request on. Refusals answer in the REST face's JSON shape, with their code.

A WebSocket to the same path goes through the same door, then is relayed
message by message (`websocket_relay.py`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from core.errors import ClientError, RateLimited, Unauthenticated
from core.settings import Settings
from graphql_api.rest.answers import error_response
from graphql_api.service_proxy.address_rate import AddressRate
from graphql_api.service_proxy.forward import forward
from graphql_api.service_proxy.limits import ProxyLimits
from graphql_api.service_proxy.websocket_relay import open_upstream, relay
from resolvers.context import ApiServices
from services.access import Caller
from services.service_sockets import reachable_service, socket_path

PREFIX = "/services"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def _caller(request: Request | WebSocket) -> Caller | None:
    authorization = request.headers.get("authorization")
    if authorization is None:
        return None
    services: ApiServices = request.app.state.services
    try:
        return (await services.accounts.session_for(authorization)).caller
    except Unauthenticated as exc:
        client = request.client
        await services.audit.token_refused(
            exc, authorization, client.host if client is not None else None
        )
        raise


def _prefix(request: Request | WebSocket) -> str:
    """`/services/{id}` as the caller wrote it (the raw path's first two
    segments), which is what the service's paths are relative to."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    segments = raw.split(b"/", 3)  # ['', 'services', id, rest]
    return b"/".join(segments[:3]).decode("latin-1")


def routes(settings: Settings) -> list[BaseRoute]:
    limits = ProxyLimits.from_settings(settings)
    anonymous_rate = AddressRate(settings.service_proxy_anonymous_per_minute)

    async def admitted(request: Request | WebSocket) -> None:
        """Raises the ClientError that keeps this caller from the service."""
        caller = await _caller(request)
        if caller is None:
            address = request.client.host if request.client is not None else ""
            wait = anonymous_rate.take(address)
            if wait is not None:
                raise RateLimited(
                    "Too many requests from this address; try again later.",
                    retryAfterSeconds=AddressRate.retry_after(wait),
                )
        await reachable_service(caller, request.path_params["service_id"])

    async def to_service(request: Request) -> Response:
        service_id: str = request.path_params["service_id"]
        try:
            await admitted(request)
            return await forward(
                request, socket_path(settings, service_id), _prefix(request), limits
            )
        except ClientError as exc:
            return _refusal(exc)

    async def websocket_to_service(websocket: WebSocket) -> None:
        service_id: str = websocket.path_params["service_id"]
        try:
            await admitted(websocket)
            upstream = await open_upstream(
                websocket, socket_path(settings, service_id), _prefix(websocket), limits
            )
        except ClientError as exc:
            await websocket.send_denial_response(_refusal(exc))
            return
        await relay(websocket, upstream, limits)

    async def with_slash(request: Request) -> Response:
        # The service's relative links resolve against its folder, not ours.
        url = request.url
        return RedirectResponse(url.replace(path=url.path + "/"), status_code=308)

    return [
        Route(f"{PREFIX}/{{service_id}}", with_slash, methods=METHODS),
        Route(f"{PREFIX}/{{service_id}}/{{path:path}}", to_service, methods=METHODS),
        WebSocketRoute(f"{PREFIX}/{{service_id}}/{{path:path}}", websocket_to_service),
    ]


def _refusal(exc: ClientError) -> Response:
    answer = error_response(exc)
    if isinstance(exc, RateLimited):
        answer.headers["Retry-After"] = str(exc.extra["retryAfterSeconds"])
    return answer
