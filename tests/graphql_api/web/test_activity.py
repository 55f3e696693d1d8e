"""The web page's activity chart: runs and failures per day for 30 days, an
SVG drawn from the executionStats query."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.graphql_api.web.page import log_in, open_tab
from tests.graphql_api.web.test_browser import assert_stayed_local
from tests.support.chromium import Browser
from tests.support.client import GraphQLClient
from tests.support.tree import script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

RUN = """mutation($input: RunScriptInput!) { runScript(input: $input) { status } }"""
STATS = "{ executionStats(days: 30) { label runs failures } }"
BARS = """[...document.querySelectorAll('#chart g.day')].map((g) => ({
    day: g.dataset.day, runs: Number(g.dataset.runs), failures: Number(g.dataset.failures),
    runsHeight: Number(g.querySelector('rect.runs').getAttribute('height')),
    failuresHeight: Number(g.querySelector('rect.failures').getAttribute('height')),
    title: g.querySelector('title').textContent }))"""


async def test_activity_chart_shows_runs_and_failures_per_day_for_30_days(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Path
) -> None:
    created = await script(alice, "maybe.py", "def main(data):\n    assert data\n    return 1\n")
    for ok in (True, True, True, False):
        ran = await alice.data(
            RUN, {"input": {"scriptId": created["id"], "input": ok, "wait": True}}
        )
        assert ran["runScript"]["status"] == ("SUCCEEDED" if ok else "FAILED")
    stats = (await alice.data(STATS))["executionStats"]
    today = stats[-1]
    assert (today["runs"], today["failures"]) == (4, 1)

    async with browser.page() as page:
        await log_in(page, service_url, alice)
        await open_tab(page, "activity")
        await page.wait_for("document.querySelector('#chart').dataset.loaded === 'true'")
        bars = await page.evaluate(BARS)
        assert [(b["day"], b["runs"], b["failures"]) for b in bars] == [
            (d["label"], d["runs"], d["failures"]) for d in stats
        ]
        assert len(bars) == 30
        drawn = bars[-1]
        assert drawn["title"].startswith(f"{today['label']}: 4 runs, 1 failed")
        # Heights in proportion: four runs, one of them failed.
        assert drawn["runsHeight"] == pytest.approx(4 * drawn["failuresHeight"])
        assert drawn["runsHeight"] > 0
        assert all(b["runsHeight"] == 0 for b in bars[:-1])
        summary = await page.evaluate("document.querySelector('#chart-summary').textContent")
        assert summary == "4 runs, 1 failed in the last 30 days."
        await page.screenshot(artifact_path)

    assert_stayed_local(page)
    assert not page.console, page.console
