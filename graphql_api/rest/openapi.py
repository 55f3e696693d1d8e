"""The REST face described: an OpenAPI 3.1 document at /api/v1/openapi.json,
written from the same route declarations the router serves, and a page at
/api/v1/docs showing it with Swagger UI served from this service (its files
are vendored by scripts/setup-web-assets.sh, as GraphiQL's are; no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from graphql_api.rest.schemas import SCHEMAS
from graphql_api.rest.spec import Operation, RestRoute, answer
from graphql_api.web import STATIC_DIR

DOCUMENT_PATH = "/api/v1/openapi.json"
PAGE_PATH = "/api/v1/docs"
TAG = "Documentation"

# Swagger UI sets styles from script and loads its own images as data URLs.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

DESCRIPTION = """\
The REST face of Scriptbox, for software that cannot speak GraphQL. It keeps
the shapes of the Scripts Manager API. Send `Authorization: Bearer <token>`:
the `access_token` of `/api/v1/auth/login`, or an API token (`sbx_...`).
Tokens need the READ scope to read, WRITE to change, RUN to run.

Errors answer `{"detail": {"code", "error_code", "message", "details"}}` with
the codes GraphQL uses; the run path answers `{"success": false, "error":
{"code", "message"}}`, as the seed's does. Ids are UUID strings."""


def _version() -> str:
    try:
        return version("scriptbox")
    except PackageNotFoundError:
        return "0"


def document(rest_routes: Sequence[RestRoute]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for rest_route in rest_routes:
        item = paths.setdefault(rest_route.openapi_path, {})
        for method, operation in rest_route.operations.items():
            item[method] = operation.openapi(rest_route.path_parameters())
    return {
        "openapi": "3.1.0",
        "info": {"title": "Scriptbox REST API", "version": _version(), "description": DESCRIPTION},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A login's access token, or an API token (sbx_...).",
                }
            },
        },
    }


def routes(rest_routes: Sequence[RestRoute]) -> list[BaseRoute]:
    """The document's and the page's routes (described in the document too),
    then every route of `rest_routes`."""
    body: dict[str, Any] = {}
    page = (STATIC_DIR / "api-docs.html").read_text(encoding="utf-8")

    async def openapi_document(request: Request) -> Response:
        return JSONResponse(body)

    async def api_docs_page(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    own = [
        RestRoute(
            DOCUMENT_PATH,
            {
                "get": Operation(
                    openapi_document,
                    "This document",
                    TAG,
                    {"200": answer("The OpenAPI 3.1 document.", {"type": "object"})},
                    secured=False,
                )
            },
        ),
        RestRoute(
            PAGE_PATH,
            {
                "get": Operation(
                    api_docs_page,
                    "This document as a page (Swagger UI)",
                    TAG,
                    {"200": {"description": "An HTML page.", "content": {"text/html": {}}}},
                    secured=False,
                )
            },
        ),
    ]
    every = [*own, *rest_routes]
    body.update(document(every))
    return [r.route() for r in every]
