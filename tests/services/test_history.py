"""History filters, 30-day stats, last execution, and reverting versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.client import GraphQLClient, registered
from tests.support.runs import RUN
from tests.support.tree import SCRIPT_BY_ID, UPDATE_SCRIPT, script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

STATS = """query($d: Int!, $tz: String!) { executionStats(days: $d, timeZone: $tz) {
  label day runs failures medianDurationMs } }"""


async def test_stats_per_day_in_the_callers_zone(anon: GraphQLClient) -> None:
    client = await registered(anon, "stats")
    ok = await script(client, "ok.py", "def main(data):\n    return 1\n")
    bad = await script(client, "bad.py", "def main(data):\n    raise RuntimeError('x')\n")
    for created in (ok, ok, bad):
        await client.data(RUN, {"input": {"scriptId": created["id"], "wait": True}})
    stats = (await client.data(STATS, {"d": 30, "tz": "Pacific/Kiritimati"}))["executionStats"]
    assert len(stats) == 30
    today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    assert stats[-1]["label"] == today
    assert [s["label"] for s in stats] == sorted(s["label"] for s in stats)
    assert (stats[-1]["runs"], stats[-1]["failures"]) == (3, 1)
    assert stats[-1]["medianDurationMs"] is not None
    assert sum(s["runs"] for s in stats[:-1]) == 0
    error = await client.error(STATS, {"d": 30, "tz": "Nowhere/Land"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await client.error(STATS, {"d": 0, "tz": "UTC"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_filter_by_time_range_and_last_execution(alice: GraphQLClient) -> None:
    created = await script(alice, "hist.py", "def main(data):\n    return data\n")
    before = datetime.now(UTC) - timedelta(seconds=1)
    first = await alice.data(RUN, {"input": {"scriptId": created["id"], "input": 1, "wait": True}})
    between = datetime.now(UTC)
    second = await alice.data(RUN, {"input": {"scriptId": created["id"], "input": 2, "wait": True}})
    query = """query($s: ID, $since: DateTime, $until: DateTime) {
      executions(scriptId: $s, since: $since, until: $until) { id } }"""
    early = await alice.data(
        query, {"s": created["id"], "since": before.isoformat(), "until": between.isoformat()}
    )
    assert [e["id"] for e in early["executions"]] == [first["runScript"]["id"]]
    late = await alice.data(query, {"s": created["id"], "since": between.isoformat()})
    assert [e["id"] for e in late["executions"]] == [second["runScript"]["id"]]
    last = await alice.data(
        "query($id: ID!) { script(id: $id) { lastExecution { id result } } }", {"id": created["id"]}
    )
    assert last["script"]["lastExecution"] == {"id": second["runScript"]["id"], "result": 2}


async def test_revert_makes_a_new_version_with_old_content(alice: GraphQLClient) -> None:
    created = await script(alice, "rev.py", "def main(data):\n    return 'one'\n")
    await alice.data(
        UPDATE_SCRIPT,
        {"id": created["id"], "input": {"content": "def main(data):\n    return 'two'\n"}},
    )
    reverted = await alice.data(
        "mutation($id: ID!) { revertScript(id: $id, version: 1) { version content } }",
        {"id": created["id"]},
    )
    assert reverted["revertScript"] == {
        "version": 3,
        "content": "def main(data):\n    return 'one'\n",
    }
    current = (await alice.data(SCRIPT_BY_ID, {"id": created["id"]}))["script"]
    assert [v["version"] for v in current["versions"]] == [1, 2, 3]
    done = await alice.data(RUN, {"input": {"scriptId": created["id"], "wait": True}})
    assert (done["runScript"]["scriptVersion"], done["runScript"]["result"]) == (3, "one")
    error = await alice.error(
        "mutation($id: ID!) { revertScript(id: $id, version: 42) { version } }",
        {"id": created["id"]},
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
