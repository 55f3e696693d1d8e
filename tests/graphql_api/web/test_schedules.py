"""The web page's schedules of a script: create one, see its next runs,
pause and resume it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.graphql_api.web.page import log_in, open_script
from tests.graphql_api.web.test_browser import assert_stayed_local
from tests.support.chromium import Browser
from tests.support.client import GraphQLClient
from tests.support.tree import script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

SCHEDULES = """query($id: ID!) { schedules(scriptId: $id) {
  id name cron timezone enabled input nextRuns(count: 3) } }"""


def fire_time(iso: str) -> str:
    """As the page shows a fire time: minutes, in UTC."""
    assert iso.endswith(("+00:00", "Z")), iso
    return f"{iso[:10]} {iso[11:16]} UTC"


async def test_schedules_are_created_show_next_runs_and_pause_and_resume(
    browser: Browser, alice: GraphQLClient, service_url: str, artifact_path: Path
) -> None:
    created = await script(alice, "tick.py", "def main(data):\n    return data\n")
    try:
        row = "#schedules tbody tr[data-id]"
        async with browser.page() as page:
            await log_in(page, service_url, alice)
            await open_script(page, "tick.py")
            await page.wait_for("document.querySelector('#schedules').dataset.loaded === 'true'")
            await page.click("#new-schedule summary")
            # Far apart (yearly) so the next runs cannot move while the test looks.
            await page.type("#schedule-cron", "0 3 1 1 *")
            await page.type("#schedule-timezone", "Europe/Berlin")
            await page.type("#schedule-name", "new year")
            await page.type("#schedule-input", '{"n": 3}')
            await page.click("#new-schedule-form button[type=submit]")
            await page.wait_for(f"document.querySelector({json.dumps(row)})")

            [schedule] = (await alice.data(SCHEDULES, {"id": created["id"]}))["schedules"]
            assert (
                schedule["name"],
                schedule["cron"],
                schedule["timezone"],
                schedule["input"],
            ) == (
                "new year",
                "0 3 1 1 *",
                "Europe/Berlin",
                {"n": 3},
            )
            assert schedule["enabled"]
            cells = await page.evaluate(
                f"[...document.querySelectorAll({json.dumps(row + ' td')})].map((c) => c.innerText)"
            )
            assert cells[:3] == ["new year", "0 3 1 1 * (Europe/Berlin)", "Active"], cells
            assert cells[3].split("\n") == [fire_time(t) for t in schedule["nextRuns"]], cells
            assert cells[3].startswith(fire_time(schedule["nextRuns"][0]))
            await page.evaluate("document.querySelector('#schedules-view').scrollIntoView()")
            await page.screenshot(artifact_path)

            await page.click(f"{row} button.pause")
            await page.wait_for(
                f"document.querySelector({json.dumps(row)}).dataset.enabled === 'false'"
            )
            state = await page.evaluate(
                f"document.querySelector({json.dumps(row + ' td.state')}).textContent"
            )
            assert state == "Paused"
            [paused] = (await alice.data(SCHEDULES, {"id": created["id"]}))["schedules"]
            assert not paused["enabled"]
            await page.screenshot(artifact_path.with_name(artifact_path.stem + "-paused.png"))

            await page.click(f"{row} button.resume")
            await page.wait_for(
                f"document.querySelector({json.dumps(row)}).dataset.enabled === 'true'"
            )
            [resumed] = (await alice.data(SCHEDULES, {"id": created["id"]}))["schedules"]
            assert resumed["enabled"]

        assert_stayed_local(page)
        assert not page.console, page.console
    finally:
        # A tick at a chosen time fires every due schedule of the suite's
        # shared database (tests/services/test_schedules.py): leave none.
        for left in (await alice.data(SCHEDULES, {"id": created["id"]}))["schedules"]:
            await alice.data("mutation($id: ID!) { deleteSchedule(id: $id) }", {"id": left["id"]})
