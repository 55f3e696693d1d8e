"""The OpenAPI document describes exactly the REST routes the app serves
(every path and method under /api/v1, no more, no fewer), is a valid
OpenAPI 3.1 document, and its page loads nothing from another origin."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from roles.api import build_api_app
from tests.support.client import GraphQLClient
from tests.support.servers import test_settings as settings_in

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def served_operations(tmp_path: Path) -> set[tuple[str, str]]:
    """(path in OpenAPI's syntax, method) of every route the app serves under /api/v1."""
    app = build_api_app(settings_in(tmp_path))
    served: set[tuple[str, str]] = set()
    for route in app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/api/v1/"):
            continue
        path = re.sub(r"\{([^}:]+)(:[^}]+)?\}", r"{\1}", route.path)
        for method in route.methods or {"GET", "POST", "PUT", "DELETE", "PATCH"}:
            if method != "HEAD":
                served.add((path, method.lower()))
    return served


def documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


async def test_the_document_matches_the_routes(anon: GraphQLClient, tmp_path: Path) -> None:
    response = await anon.http.get(f"{anon.base_url}/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    served = served_operations(tmp_path)
    assert ("/api/v1/scripts/{path}", "post") in served
    assert ("/api/v1/files/{key}/info", "get") in served
    assert documented_operations(document) == served


async def test_the_document_is_valid_openapi(anon: GraphQLClient) -> None:
    document = (await anon.http.get(f"{anon.base_url}/api/v1/openapi.json")).json()
    validate(document)
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


class _Sources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


async def test_the_docs_page_is_served_from_this_origin(anon: GraphQLClient) -> None:
    page = await anon.http.get(f"{anon.base_url}/api/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    sources = _Sources()
    sources.feed(page.text)
    assert any("swagger-ui-bundle.js" in url for url in sources.urls)
    for url in (u for u in sources.urls if not u.startswith("data:")):
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await anon.http.get(f"{anon.base_url}{url}")
        assert asset.status_code == 200, f"{url} (run scripts/setup-web-assets.sh)"
