"""The web page against the served process, in both shapes (in the scale-out
one a separate `scriptbox worker` runs the scripts): a day's work in
Chromium — edit in the editor, save with Ctrl+S, run with live output,
download the run's file, and see the run in the 30-day chart; start a
service from the page, follow its output live and stop it. Everything loads
from the service itself, nothing from a CDN."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.graphql_api.web.page import editor_text, log_in, open_script, open_tab, type_in_editor
from tests.graphql_api.web.test_browser import assert_stayed_local
from tests.graphql_api.web.test_files import downloaded
from tests.graphql_api.web.test_services import LOGS, last_tick, row, row_status
from tests.roles.served.conftest import Served
from tests.support.chromium import Browser, chromium
from tests.support.client import GraphQLClient
from tests.support.paths import REPO
from tests.support.services import TICKER, service
from tests.support.tree import SCRIPT_BY_ID, script

SHOTS = REPO / "test-artifacts" / "web"
FIRST = "def main(data):\n    return 0\n"
WRITER = (
    "import time\n"
    "def main(data):\n"
    "    for i in range(3):\n"
    "        print('row', i, flush=True)\n"
    "        time.sleep(0.2)\n"
    "    with open('/job/out/rows.txt', 'w') as out:\n"
    "        out.write('0\\n1\\n2\\n')\n"
    "    return 3\n"
)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


async def test_a_day_in_the_web_page(
    browser: Browser, alice: GraphQLClient, served: Served, tmp_path: Path
) -> None:
    created = await script(alice, "rows.py", FIRST)
    async with browser.page() as page:
        await page.allow_downloads(tmp_path)
        await log_in(page, served.url, alice)
        await open_script(page, "rows.py")
        assert await editor_text(page) == FIRST
        await type_in_editor(page, WRITER)
        await page.key("s", modifiers=2)
        await page.wait_for(
            "document.querySelector('#save-state').textContent === 'Saved as version 2'"
        )
        saved = (await alice.data(SCRIPT_BY_ID, {"id": created["id"]}))["script"]
        assert saved["content"] == WRITER

        await page.click("#run")
        await page.wait_for("document.querySelector('#status').dataset.status === 'SUCCEEDED'")
        output = await page.evaluate("document.querySelector('#output').textContent")
        assert output == "row 0\nrow 1\nrow 2\n"
        await page.click('#run-files button[data-name="rows.txt"]')
        assert await downloaded(tmp_path, "rows.txt") == b"0\n1\n2\n"
        await page.screenshot(SHOTS / f"served-{served.shape}-run.png")

        await open_tab(page, "activity")
        today = await page.wait_for(
            "document.querySelector('#chart').dataset.loaded === 'true'"
            " && [...document.querySelectorAll('#chart g.day')].at(-1).dataset.runs"
        )
        assert today == "1"
        await page.screenshot(SHOTS / f"served-{served.shape}-activity.png")

    assert_stayed_local(page)
    assert not page.console, page.console


async def test_a_service_from_the_web_page(
    browser: Browser, alice: GraphQLClient, served: Served
) -> None:
    await script(alice, "ticker.py", TICKER)
    async with browser.page() as page:
        await log_in(page, served.url, alice)
        await open_script(page, "ticker.py")
        await open_tab(page, "services")
        await page.wait_for("document.querySelector('#services').dataset.loaded === 'true'")
        await page.click("#start-service")
        service_id = await page.wait_for("document.querySelector('#service-detail').dataset.id")
        await row_status(page, service_id, "RUNNING")
        await page.wait_for(f"/^tick 1$/m.test({LOGS})", timeout=60)
        seen = await last_tick(page)
        await page.wait_for(f"new RegExp('^tick {seen + 3}$', 'm').test({LOGS})", timeout=60)
        running = await service(alice, service_id)
        assert running["worker"], running
        # Overlapping reads of the list (a status change, the timer) never
        # put an older state back once RUNNING was shown.
        shown = await page.evaluate(
            f"document.querySelector({json.dumps(row(service_id))}).dataset.status"
        )
        assert shown == "RUNNING"
        await page.screenshot(SHOTS / f"served-{served.shape}-services.png")

        await page.click(f"{row(service_id)} button.stop")
        await row_status(page, service_id, "STOPPED")
        await page.wait_for(f"{LOGS}.includes('got SIGTERM, bye')", timeout=60)
        await page.wait_for(
            "[...document.querySelectorAll('#service-chart g.day')].at(-1)"
            "?.dataset.deployments === '1'"
        )

    assert_stayed_local(page)
    assert not page.console, page.console
