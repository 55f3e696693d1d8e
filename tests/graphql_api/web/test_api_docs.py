"""The REST API page in headless Chromium: Swagger UI, loaded from this
service only, shows every operation of the OpenAPI document, with no script
error and no CSP violation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.chromium import Browser

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)


async def test_the_api_page_shows_every_operation_offline(
    browser: Browser, service_url: str, artifact_path: Path
) -> None:
    async with httpx.AsyncClient() as http:
        document = (await http.get(f"{service_url}/api/v1/openapi.json")).json()
    operations = sum(len(item) for item in document["paths"].values())
    async with browser.page() as page:
        await page.goto(f"{service_url}/api/v1/docs")
        shown = await page.wait_for(
            f"document.querySelectorAll('.opblock').length >= {operations} && "
            "document.querySelectorAll('.opblock').length"
        )
        await page.screenshot(artifact_path)
        assert shown == operations
        assert "Scriptbox REST API" in await page.evaluate("document.body.innerText")
        assert page.hosts() == {"127.0.0.1"}, [r["url"][:120] for r in page.requests]
        assert not page.failed, page.failed
        assert not page.console, page.console
