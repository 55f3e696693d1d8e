"""GraphiQL's assets come from this service (the set-up installs them from
npm), byte for byte the CDN's files; the web page and its files at `/`."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace

import httpx
import pytest
from strawberry.http.ides import get_graphql_ide_html

from core.settings import Settings
from graphql_api import web

TEMPLATE = get_graphql_ide_html(graphql_ide="graphiql")
SETUP_HINT = "run scripts/setup-web-assets.sh (make test runs it)"
local_only = pytest.mark.parametrize("service", ["local"], indirect=True)


def test_the_template_names_assets() -> None:
    packages = {asset.package for asset in web.cdn_assets(TEMPLATE)}
    assert {"react", "react-dom", "graphiql"} <= packages


def test_every_asset_is_installed_and_is_the_file_the_cdn_serves() -> None:
    """The template's Subresource Integrity hashes hold for the local copies."""
    pairs = re.findall(r'(?:src|href)="(https://unpkg\.com/[^"]+)"\s+integrity="([^"]+)"', TEMPLATE)
    assert len(pairs) == len(web.cdn_assets(TEMPLATE))
    by_url = {asset.url: asset for asset in web.cdn_assets(TEMPLATE)}
    for url, integrity in pairs:
        path = by_url[url].local_path
        assert path.is_file(), f"{path} is missing: {SETUP_HINT}"
        algorithm, _, expected = integrity.partition("-")
        digest = hashlib.new(algorithm, path.read_bytes()).digest()
        assert base64.b64encode(digest).decode() == expected, url
    assert web.missing_assets(TEMPLATE) == []


def test_a_missing_asset_stays_on_the_cdn() -> None:
    absent = "https://unpkg.com/not-installed@0.0.1/dist/x.js"
    present = web.cdn_assets(TEMPLATE)[0]
    page = web.graphiql_html(f'<script src="{absent}"></script><script src="{present.url}">')
    assert absent in page
    assert present.url not in page and present.local_url in page


def test_asset_paths_cannot_leave_the_vendor_folder() -> None:
    assets = web.cdn_assets('<script src="https://unpkg.com/a@1.0.0/../../../etc/passwd">')
    assert assets == []


def test_tree_depth_stays_inside_the_query_depth_limit() -> None:
    settings = Settings.from_env()
    assert web.tree_depth(replace(settings, max_folder_depth=32, max_query_depth=40)) == 32
    assert web.tree_depth(replace(settings, max_folder_depth=32, max_query_depth=12)) == 8


@local_only
async def test_graphiql_page_loads_nothing_from_a_cdn(service_url: str) -> None:
    async with httpx.AsyncClient(base_url=service_url) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "unpkg.com" not in page.text, SETUP_HINT
        urls = re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', page.text)
        assert len(urls) == len(web.cdn_assets(TEMPLATE))
        for url in urls:
            asset = await http.get(url)
            assert asset.status_code == 200, url
            kind = "text/css" if url.endswith(".css") else "javascript"
            assert kind in asset.headers["content-type"], url


@local_only
async def test_root_serves_the_web_page(service_url: str) -> None:
    async with httpx.AsyncClient(base_url=service_url) as http:
        page = await http.get("/")
        assert page.status_code == 200  # no longer a redirect to /graphql
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert '<meta name="scriptbox-tree-depth" content="32"' in page.text
        for path, kind in [
            ("/static/app.js", "javascript"),
            ("/static/graphql.js", "javascript"),
            ("/static/app.css", "text/css"),
        ]:
            response = await http.get(path)
            assert response.status_code == 200 and kind in response.headers["content-type"]
        assert (await http.get("/static/../graphql_api/web.py")).status_code == 404
        assert (await http.get("/static/nothing.js")).status_code == 404
