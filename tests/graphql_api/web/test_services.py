"""The web page's Services tab: start the open script as a service, see it
RUNNING with its output arriving live, stop it, read its events, see the
deployment in the 30-day chart, redeploy it on the script's new version,
delete it after a confirmation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.graphql_api.web.page import confirm, log_in, open_script, open_tab
from tests.graphql_api.web.test_browser import assert_stayed_local
from tests.support.chromium import Browser, Page
from tests.support.client import GraphQLClient
from tests.support.services import SERVICES, STATS, TICKER, kinds, service
from tests.support.tree import UPDATE_SCRIPT, script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

ROWS = "#services tbody tr[data-id]"
LOGS = "document.querySelector('#service-logs').textContent"
BARS = """[...document.querySelectorAll('#service-chart g.day')].map((g) => ({
    day: g.dataset.day, deployments: Number(g.dataset.deployments),
    failures: Number(g.dataset.failures),
    height: Number(g.querySelector('rect.deployments').getAttribute('height')),
    title: g.querySelector('title').textContent }))"""


def row(service_id: str) -> str:
    return f'#services tbody tr[data-id="{service_id}"]'


async def row_status(page: Page, service_id: str, status: str) -> None:
    await page.wait_for(
        f"document.querySelector({json.dumps(row(service_id))})?.dataset.status"
        f" === {json.dumps(status)}",
        timeout=120,
    )


async def last_tick(page: Page) -> int:
    ticks = re.findall(r"^tick (\d+)$", await page.evaluate(LOGS), re.MULTILINE)
    return int(ticks[-1])


async def test_a_service_is_started_followed_live_stopped_and_charted(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Path
) -> None:
    created = await script(alice, "ticker.py", TICKER)
    async with browser.page() as page:
        await log_in(page, service_url, alice)
        await open_script(page, "ticker.py")
        await open_tab(page, "services")
        await page.wait_for("document.querySelector('#services').dataset.loaded === 'true'")
        assert await page.evaluate("document.querySelector('#service-script').textContent") == (
            "ticker.py"
        )
        await page.type("#service-name", "ticker")
        await page.evaluate("document.querySelector('#service-restart').value = 'NEVER'")
        await page.type("#service-input", '{"n": 1}')
        await page.click("#start-service")
        service_id = await page.wait_for("document.querySelector('#service-detail').dataset.id")

        [listed] = (await alice.data(SERVICES))["services"]
        assert (listed["id"], listed["name"], listed["restartPolicy"]) == (
            service_id,
            "ticker",
            "NEVER",
        )
        assert listed["script"]["id"] == created["id"]

        # Its status changes on the page without a reload, and its output
        # keeps arriving on the one subscription the page opened.
        await row_status(page, service_id, "RUNNING")
        await page.wait_for(f"/^tick 2$/m.test({LOGS})", timeout=60)
        seen = await last_tick(page)
        await page.wait_for(f"new RegExp('^tick {seen + 3}$', 'm').test({LOGS})", timeout=60)
        assert await page.evaluate("document.querySelector('#service-follow').dataset.status") == (
            "LIVE"
        )
        running = await service(alice, service_id)
        cells = await page.evaluate(
            f"[...document.querySelectorAll({json.dumps(row(service_id) + ' td')})]"
            ".map((c) => c.textContent)"
        )
        assert cells[:4] == ["ticker", "ticker.py", "RUNNING", "1"], cells
        assert cells[9] == running["worker"] and running["worker"], cells
        await page.screenshot(artifact_path.with_name(artifact_path.stem + "-running.png"))

        # A hidden tab follows nothing; shown again, the output is replayed
        # and followed on.
        await open_tab(page, "activity")
        await page.wait_for("document.querySelector('#service-follow').dataset.status !== 'LIVE'")
        seen = await last_tick(page)
        await open_tab(page, "services")
        await page.wait_for(f"new RegExp('^tick {seen + 3}$', 'm').test({LOGS})", timeout=60)

        await page.click(f"{row(service_id)} button.stop")
        await row_status(page, service_id, "STOPPED")
        await page.wait_for(f"{LOGS}.includes('got SIGTERM, bye')", timeout=60)
        stopped = await service(alice, service_id)
        assert stopped["status"] == "STOPPED"
        await page.wait_for(
            "document.querySelector('#service-events tbody tr[data-kind=\"stopped\"]')"
        )
        shown = await page.evaluate(
            "[...document.querySelectorAll('#service-events tbody tr')]"
            ".map((r) => r.dataset.kind).reverse()"
        )
        assert shown == kinds(stopped), shown
        assert shown[0] == "start"

        # The chart, in the reader's time zone: today one deployment, no failure.
        zone = await page.wait_for("document.querySelector('#service-chart').dataset.timeZone")
        await page.wait_for(
            "[...document.querySelectorAll('#service-chart g.day')].at(-1)"
            "?.dataset.deployments === '1'"
        )
        stats = (await alice.data(STATS, {"days": 30, "tz": zone}))["serviceStats"]
        bars = await page.evaluate(BARS)
        assert [(b["day"], b["deployments"], b["failures"]) for b in bars] == [
            (d["label"], d["deployments"], d["failures"]) for d in stats
        ]
        assert len(bars) == 30
        assert bars[-1]["title"] == f"{stats[-1]['label']}: 1 deployment, 0 failures"
        assert bars[-1]["height"] > 0
        assert all(b["height"] == 0 for b in bars[:-1])
        summary = await page.evaluate(
            "document.querySelector('#service-chart-summary').textContent"
        )
        assert summary == "1 deployment, 0 failures in the last 30 days."
        await page.evaluate("document.querySelector('#service-chart').scrollIntoView()")
        await page.screenshot(artifact_path)

        # Redeploy: the script's new current version, from the stopped service.
        await alice.data(
            UPDATE_SCRIPT,
            {"id": created["id"], "input": {"content": TICKER.replace("'tick'", "'tock'")}},
        )
        await page.click(f"{row(service_id)} button.redeploy")
        await row_status(page, service_id, "RUNNING")
        await page.wait_for(
            f"document.querySelector({json.dumps(row(service_id) + ' td.version')})"
            ".textContent === '2'"
        )
        await page.wait_for(f"/^tock \\d+$/m.test({LOGS})", timeout=60)
        assert (await service(alice, service_id))["version"] == 2

        await page.click(f"{row(service_id)} button.delete")
        assert await confirm(page) == (
            "Delete the service ticker? It is stopped first; its history stays in the chart."
        )
        await page.wait_for(f"!document.querySelector('{ROWS}')")
        assert (await alice.data(SERVICES))["services"] == []
        assert await page.evaluate("document.querySelector('#service-detail').hidden")

    assert_stayed_local(page)
    assert not page.console, page.console


async def test_the_output_kept_on_the_page_is_bounded_to_its_last_lines(
    browser: Browser, alice: GraphQLClient, service_url: str
) -> None:
    async with browser.page() as page:
        await log_in(page, service_url, alice)
        kept = await page.evaluate(
            """import('/static/services.js').then(({ appendBounded }) => {
              const keep = (max) => {
                const box = document.createElement('pre');
                for (const chunk of ['a\\nb\\n', 'c', 'd\\ne\\n']) appendBounded(box, chunk, max);
                return [box.textContent, box.dataset.lines];
              };
              return [keep(10), keep(3), keep(2), keep(1)];
            })"""
        )
    assert kept == [
        ["a\nb\ncd\ne\n", "4"],
        ["b\ncd\ne\n", "3"],
        ["cd\ne\n", "2"],
        ["e\n", "1"],
    ]
