"""The web page shows what a run cost, on the run and in the last days'
statistics, in headless Chromium against the real service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.graphql_api.web.page import log_in, open_script
from tests.graphql_api.web.test_browser import assert_stayed_local
from tests.support.chromium import Browser
from tests.support.client import GraphQLClient
from tests.support.tree import script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

HUNGRY = (
    "import time\n"
    "def main(data):\n"
    "    block = b'x' * (80 * 2**20)\n"
    "    start = time.process_time()\n"
    "    while time.process_time() - start < 0.4:\n"
    "        sum(range(10000))\n"
    "    return len(block)\n"
)
LAST = """query($id: ID!) { executions(scriptId: $id, first: 1) {
  resources { peakMemoryBytes cpuUserSeconds cpuSystemSeconds wallSeconds } } }"""
STATS = """{ executionStats(days: 1) { label cpuSeconds peakMemoryBytes } }"""


def mib(value: int) -> str:
    return f"{value / 2**20:.1f} MiB"


def seconds(value: float) -> str:
    return f"{value:.2f} s"


async def test_web_page_shows_what_a_run_cost(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Path
) -> None:
    await script(alice, "hungry.py", HUNGRY)
    async with browser.page() as page:
        await log_in(page, service_url, alice)
        await page.wait_for("document.querySelector('#stats').dataset.loaded === 'true'")
        await open_script(page, "hungry.py")
        await page.click("#run")
        cost = await page.wait_for(
            "document.querySelector('#cost') && document.querySelector('#cost').textContent"
        )
        created = (await alice.data("{ tree { scripts { id } } }"))["tree"]["scripts"][0]
        used: dict[str, Any] = (await alice.data(LAST, {"id": created["id"]}))["executions"][0][
            "resources"
        ]
        assert used["peakMemoryBytes"] > 80 * 2**20
        cpu = used["cpuUserSeconds"] + used["cpuSystemSeconds"]
        assert f"{mib(used['peakMemoryBytes'])} peak memory" in cost, cost
        assert f"{seconds(cpu)} CPU" in cost, cost
        assert f"{seconds(used['wallSeconds'])} wall" in cost, cost
        assert "image scriptbox-sandbox" in cost, cost

        # The history's row and the statistics of today say the same.
        row = "#executions tbody tr[data-status='SUCCEEDED']"
        cells = await page.wait_for(
            f"document.querySelector({json.dumps(row)})"
            f" && [...document.querySelectorAll({json.dumps(row + ' td')})]"
            ".map((cell) => cell.textContent)"
        )
        assert seconds(cpu) in cells and mib(used["peakMemoryBytes"]) in cells, cells
        today = (await alice.data(STATS))["executionStats"][0]
        stats_row = f"#stats tbody tr[data-day='{today['label']}']"
        stats_cells = await page.wait_for(
            f"[...document.querySelectorAll({json.dumps(stats_row + ' td')})]"
            ".map((cell) => cell.textContent)"
            f".includes({json.dumps(mib(today['peakMemoryBytes']))})"
            f" && [...document.querySelectorAll({json.dumps(stats_row + ' td')})]"
            ".map((cell) => cell.textContent)"
        )
        assert stats_cells == [
            today["label"],
            "1",
            "0",
            seconds(today["cpuSeconds"]),
            mib(today["peakMemoryBytes"]),
        ]
        await page.screenshot(artifact_path)

    assert_stayed_local(page)
    assert not page.console, page.console
