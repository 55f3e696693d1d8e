"""The web page's versions of a script: a diff of an older version against
the current one, and reverting to it (saved as the next version)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.graphql_api.web.page import editor_text, log_in, message, open_script
from tests.graphql_api.web.test_browser import assert_stayed_local
from tests.support.chromium import Browser
from tests.support.client import GraphQLClient
from tests.support.tree import SCRIPT_BY_ID, UPDATE_SCRIPT, script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

FIRST = "def main(data):\n    total = 1\n    return total\n"
SECOND = "def main(data):\n    total = 2\n    return total\n"
THIRD = "def main(data):\n    total = 3\n    return total\n# done\n"


async def test_versions_show_a_diff_against_the_current_one_and_revert(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Path
) -> None:
    created = await script(alice, "sum.py", FIRST)
    for content in (SECOND, THIRD):
        await alice.data(UPDATE_SCRIPT, {"id": created["id"], "input": {"content": content}})
    async with browser.page() as page:
        await log_in(page, service_url, alice)
        await open_script(page, "sum.py")
        await page.wait_for("document.querySelector('#versions').dataset.loaded === '3'")
        listed = await page.evaluate(
            "[...document.querySelectorAll('#versions tbody tr')].map((r) => r.dataset.version)"
        )
        assert listed == ["3", "2", "1"]
        assert await page.evaluate(
            "document.querySelector('#versions tr[data-version=\"3\"] button') === null"
        )  # the current one has nothing to compare with

        await page.click('#versions tr[data-version="1"] button')
        await page.wait_for("document.querySelector('#diff').dataset.version === '1'")
        lines = await page.evaluate(
            "[...document.querySelectorAll('#diff span')].map((s) => [s.className, s.textContent])"
        )
        assert lines == [
            ["same", "  def main(data):"],
            ["removed", "-     total = 1"],
            ["added", "+     total = 3"],
            ["same", "      return total"],
            ["added", "+ # done"],
        ], lines
        title = await page.evaluate("document.querySelector('#diff-title').textContent")
        assert title == "Version 1 → current (v3): +2 \u22121 lines", title  # a minus sign
        await page.screenshot(artifact_path.with_name(artifact_path.stem + "-diff.png"))

        await page.click("#revert")
        text = await message(page)
        assert text == "Reverted to version 1: saved as version 4.", text
        await page.wait_for("document.querySelector('#versions').dataset.loaded === '4'")
        assert await editor_text(page) == FIRST
        assert "version 4" in await page.evaluate(
            "document.querySelector('#script-meta').textContent"
        )
        await page.screenshot(artifact_path)

    saved = (await alice.data(SCRIPT_BY_ID, {"id": created["id"]}))["script"]
    assert (saved["version"], saved["content"]) == (4, FIRST)
    assert_stayed_local(page)
    assert not page.console, page.console
