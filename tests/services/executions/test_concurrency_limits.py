"""A script's `maxConcurrentRuns` and a schedule's overlap policy through
GraphQL, on SQLite and PostgreSQL. The in-process worker runs two at once,
so the limit of one is what keeps the runs apart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from models.executions import Execution
from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually
from tests.support.servers import Service
from tests.support.tree import script

pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

RUN = """mutation($input: RunScriptInput!) { runScript(input: $input) { id status } }"""
RUNS = """query($s: ID!) { executions(scriptId: $s, first: 50) {
  id status input startedAt finishedAt waitingFor } }"""
SLEEPER = "import time\ndef main(data):\n    time.sleep(data['sleep'])\n    return data['n']\n"
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { id status } }"
# Due only on 29 February: the service's own ticker never fires it first.
HOURLY_ON_LEAP_DAY = "0 * 29 2 *"


async def limited_script(
    client: GraphQLClient, name: str, content: str, limit: int | None
) -> dict[str, Any]:
    created: dict[str, Any] = (
        await client.data(
            """mutation($input: CreateScriptInput!) {
              createScript(input: $input) { id maxConcurrentRuns } }""",
            {"input": {"name": name, "content": content, "maxConcurrentRuns": limit}},
        )
    )["createScript"]
    assert created["maxConcurrentRuns"] == limit
    return created


async def runs_of(client: GraphQLClient, script_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await client.data(RUNS, {"s": script_id}))["executions"]
    return found


async def test_a_limit_of_one_runs_three_one_at_a_time_in_order(
    alice: GraphQLClient, service: Service
) -> None:
    assert service.settings.worker_concurrency >= 2, "the worker alone would keep runs apart"
    created = await limited_script(alice, "one-at-a-time.py", SLEEPER, 1)
    ids = [
        (
            await alice.data(
                RUN, {"input": {"scriptId": created["id"], "input": {"n": n, "sleep": 1.5}}}
            )
        )["runScript"]["id"]
        for n in range(3)
    ]
    waiting = next(r for r in await runs_of(alice, created["id"]) if r["id"] == ids[2])
    assert waiting["status"] == "QUEUED"
    assert "concurrency limit" in (waiting["waitingFor"] or "")

    most_running = 0

    async def all_ended() -> list[dict[str, Any]] | None:
        nonlocal most_running
        runs = await runs_of(alice, created["id"])
        most_running = max(most_running, sum(r["status"] == "RUNNING" for r in runs))
        return runs if all(r["status"] == "SUCCEEDED" for r in runs) else None

    runs = await eventually(all_ended, "the three runs end", every=0.05)
    assert most_running == 1
    by_id = {r["id"]: r for r in runs}
    started = [datetime.fromisoformat(by_id[i]["startedAt"]) for i in ids]
    assert started == sorted(started), "the runs started out of order"
    assert [by_id[i]["input"]["n"] for i in ids] == [0, 1, 2]


async def test_the_limit_is_set_and_removed_on_update(alice: GraphQLClient) -> None:
    created = await limited_script(alice, "limited.py", "pass\n", None)
    update = """mutation($id: ID!, $input: UpdateScriptInput!) {
      updateScript(id: $id, input: $input) { maxConcurrentRuns } }"""
    set_ = await alice.data(update, {"id": created["id"], "input": {"maxConcurrentRuns": 2}})
    assert set_["updateScript"]["maxConcurrentRuns"] == 2
    kept = await alice.data(update, {"id": created["id"], "input": {"description": "x"}})
    assert kept["updateScript"]["maxConcurrentRuns"] == 2
    removed = await alice.data(update, {"id": created["id"], "input": {"maxConcurrentRuns": None}})
    assert removed["updateScript"]["maxConcurrentRuns"] is None
    error = await alice.error(update, {"id": created["id"], "input": {"maxConcurrentRuns": 0}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


CREATE_SCHEDULE = """mutation($input: CreateScheduleInput!) {
  createSchedule(input: $input) { id nextRunAt overlap } }"""


@pytest.fixture
async def schedule_ids(alice: GraphQLClient) -> AsyncIterator[list[str]]:
    """Schedules to delete after the test, so no later tick fires them."""
    made: list[str] = []
    yield made
    for schedule_id in made:
        await alice.execute("mutation($id: ID!) { deleteSchedule(id: $id) }", {"id": schedule_id})


async def fire(service: Service, schedule_id: str, now: datetime) -> list[Execution]:
    scheduler = service.process.scheduler
    assert scheduler is not None
    fired = await scheduler.tick(now)
    return [row for row in fired if str(row.schedule_id) == schedule_id]


async def test_overlap_skip_fires_nothing_while_a_run_is_going(
    alice: GraphQLClient, service: Service, schedule_ids: list[str]
) -> None:
    created = await script(alice, "skipper.py", SLEEPER)
    schedule = (
        await alice.data(
            CREATE_SCHEDULE,
            {
                "input": {
                    "scriptId": created["id"],
                    "cron": HOURLY_ON_LEAP_DAY,
                    "input": {"n": 0, "sleep": 60},
                    "overlap": "SKIP",
                }
            },
        )
    )["createSchedule"]
    schedule_ids.append(schedule["id"])
    assert schedule["overlap"] == "SKIP"
    due = datetime.fromisoformat(schedule["nextRunAt"])

    first = await fire(service, schedule["id"], due + timedelta(seconds=1))
    assert len(first) == 1
    skipped = await fire(service, schedule["id"], due + timedelta(hours=1, seconds=1))
    assert skipped == []
    assert len(await runs_of(alice, created["id"])) == 1

    await alice.data(CANCEL, {"id": str(first[0].id)})
    again = await fire(service, schedule["id"], due + timedelta(hours=2, seconds=1))
    assert len(again) == 1
    await alice.data(CANCEL, {"id": str(again[0].id)})


async def test_overlap_queue_waits_for_the_earlier_run(
    alice: GraphQLClient, service: Service, schedule_ids: list[str]
) -> None:
    created = await script(alice, "queuer.py", SLEEPER)
    schedule = (
        await alice.data(
            CREATE_SCHEDULE,
            {
                "input": {
                    "scriptId": created["id"],
                    "cron": HOURLY_ON_LEAP_DAY,
                    "input": {"n": 0, "sleep": 60},
                    "overlap": "QUEUE",
                }
            },
        )
    )["createSchedule"]
    schedule_ids.append(schedule["id"])
    due = datetime.fromisoformat(schedule["nextRunAt"])
    (first,) = await fire(service, schedule["id"], due + timedelta(seconds=1))

    async def running() -> bool:
        return any(r["status"] == "RUNNING" for r in await runs_of(alice, created["id"]))

    await eventually(running, "the first run starts")
    (second,) = await fire(service, schedule["id"], due + timedelta(hours=1, seconds=1))
    # Two worker slots are free, yet the second run waits for the first.
    await asyncio.sleep(1.5)
    runs = {r["id"]: r for r in await runs_of(alice, created["id"])}
    assert runs[str(second.id)]["status"] == "QUEUED"
    assert "earlier run of its schedule" in (runs[str(second.id)]["waitingFor"] or "")
    for row in (second, first):
        await alice.data(CANCEL, {"id": str(row.id)})
