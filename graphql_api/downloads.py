"""Streamed downloads of files and artifacts over HTTP, with a Bearer token:
GET /files/{key} and GET /artifacts/{executionId}/{name} (and, through
`streamed`, the REST face's GET /api/v1/files/{key}). Errors answer in
the GraphQL shape (`{"errors": [{"message", "extensions": {"code"}}]}`)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from core.errors import ClientError, NotFound, Unauthenticated
from core.roles import TokenScope
from resolvers.context import ApiServices
from services.access import Caller
from storage import ObjectNotFound


async def _caller(request: Request, services: ApiServices) -> Caller:
    authorization = request.headers.get("authorization")
    try:
        return await services.accounts.caller_with_scope(authorization, TokenScope.READ, "download")
    except Unauthenticated as exc:
        client = request.client
        await services.audit.token_refused(
            exc, authorization, client.host if client is not None else None
        )
        raise


def _error(exc: ClientError) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": exc.message, "extensions": exc.extensions}]},
        status_code=exc.http_status,
    )


async def streamed(
    services: ApiServices, storage_key: str, name: str, content_type: str, size: int
) -> Response:
    """A stored object as an attachment, read in chunks; NOT_FOUND, before
    anything is sent, when the object is missing."""
    chunks = services.files.stream(storage_key)
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""
    except ObjectNotFound:
        raise NotFound("The stored object is missing.") from None

    async def body() -> object:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(),  # type: ignore[arg-type]
        media_type=content_type,
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def download_file(request: Request) -> Response:
    services: ApiServices = request.app.state.services
    try:
        caller = await _caller(request, services)
        row = await services.files.get(caller, request.path_params["key"])
        return await streamed(
            services, row.storage_key, row.key.rsplit("/", 1)[-1], row.content_type, row.size
        )
    except ClientError as exc:
        return _error(exc)


async def download_artifact(request: Request) -> Response:
    services: ApiServices = request.app.state.services
    try:
        caller = await _caller(request, services)
        row = await services.files.get_artifact(
            caller, request.path_params["execution_id"], request.path_params["name"]
        )
        return await streamed(services, row.storage_key, row.name, row.content_type, row.size)
    except ClientError as exc:
        return _error(exc)
