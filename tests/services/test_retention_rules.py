"""Which executions the retention rules choose, on SQLite and PostgreSQL:
ended ones only, past an age or beyond a script's newest. Read only, but
for this test's own runs (the suite's service is shared), and the time is
moved by passing `now`, never by waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.retention import Retention, RetentionRules, candidates
from tests.support.client import GraphQLClient
from tests.support.runs import GET, RUN
from tests.support.servers import Service
from tests.support.tree import script

pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

QUICK = "def main(data):\n    return data\n"


async def test_days_and_per_script_choose_ended_runs_only(
    service: Service, alice: GraphQLClient
) -> None:
    created = await script(alice, "kept-or-not.py", QUICK)

    async def run(**extra: object) -> str:
        variables = {"input": {"scriptId": created["id"], "input": 1, **extra}}
        execution_id: str = (await alice.data(RUN, variables))["runScript"]["id"]
        return execution_id

    queued = await run(target="no-worker-has-this")  # stays QUEUED
    ended = [await run(wait=True) for _ in range(3)]
    mine = {queued, *ended}

    def chosen(ids: list[str]) -> set[str]:
        return mine.intersection(ids)

    now = datetime.now(UTC)
    assert chosen(await candidates(RetentionRules(days=1), now, None)) == set()
    later = now + timedelta(days=2)
    assert chosen(await candidates(RetentionRules(days=1), later, None)) == set(ended)
    assert chosen(await candidates(RetentionRules(days=3), later, None)) == set()
    # Per script: the newest two stay; the queued one, older, is not ended.
    assert chosen(await candidates(RetentionRules(per_script=2), now, None)) == {ended[0]}
    assert chosen(await candidates(RetentionRules(per_script=5), now, None)) == set()
    both = RetentionRules(days=1, per_script=2)
    assert chosen(await candidates(both, later, None)) == set(ended)

    retention = Retention(service.process.services.store, RetentionRules(per_script=2))
    report = await retention.delete_batch([queued, ended[0]])
    assert report.executions == 1  # the queued one is refused by the DELETE too
    assert (await alice.data(GET, {"id": ended[0]}))["execution"] is None
    assert (await alice.data(GET, {"id": queued}))["execution"]["status"] == "QUEUED"
    await alice.data("mutation($id: ID!) { cancelExecution(id: $id) { id } }", {"id": queued})
