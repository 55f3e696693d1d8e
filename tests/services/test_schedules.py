"""Schedules through GraphQL; time is driven by calling the scheduler's tick
with a chosen `now`, never by sleeping."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pytest

from services.executions.service import ExecutionService
from services.schedules import Scheduler
from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually
from tests.support.runs import CANCEL, RUN
from tests.support.runs import GET as GET_EXECUTION
from tests.support.servers import Service
from tests.support.tree import script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)


class MakeSchedule(Protocol):
    def __call__(
        self, client: GraphQLClient, cron: str, tz: str = "UTC", **extra: Any
    ) -> Awaitable[dict[str, Any]]: ...


CREATE = """
mutation($input: CreateScheduleInput!) {
  createSchedule(input: $input) { id cron timezone enabled nextRunAt input
    script { id } }
}
"""
NEXT_RUNS = "query($id: ID!, $n: Int!) { schedule(id: $id) { nextRuns(count: $n) } }"
GET = """query($id: ID!) { schedule(id: $id) { id enabled nextRunAt lastRunAt
  lastRun { id status input } } }"""


async def make_schedule(
    client: GraphQLClient, cron: str, tz: str = "UTC", **extra: Any
) -> dict[str, Any]:
    created = await script(
        client,
        f"job-{cron.replace(' ', '_').replace('*', 'x').replace('/', 'e')}.py",
        "def main(data):\n    return data\n",
    )
    data = await client.data(
        CREATE, {"input": {"scriptId": created["id"], "cron": cron, "timezone": tz, **extra}}
    )
    result: dict[str, Any] = data["createSchedule"]
    return result


# Crons due only on 29 February (next in 2028): the service's own ticker,
# which runs on the real clock all session, never fires them first, so a
# test's tick at a chosen `now` is the only thing that does.
HOURLY_ON_LEAP_DAY = "0 * 29 2 *"
DAILY_ON_LEAP_DAY = "0 0 29 2 *"


@pytest.fixture
async def schedules(anon: GraphQLClient) -> AsyncIterator[MakeSchedule]:
    """make_schedule, with every schedule deleted after the test, so no later
    tick (a test's or the real ticker's) fires it while another test runs.
    It depends on `anon` so that the HTTP client outlives this teardown."""
    made: list[tuple[GraphQLClient, str]] = []

    async def make(
        client: GraphQLClient, cron: str, tz: str = "UTC", **extra: Any
    ) -> dict[str, Any]:
        created = await make_schedule(client, cron, tz, **extra)
        made.append((client, created["id"]))
        return created

    yield make
    for client, schedule_id in made:
        # Already gone when the test deleted it or its script: that is fine.
        await client.execute("mutation($id: ID!) { deleteSchedule(id: $id) }", {"id": schedule_id})


def of(schedule: dict[str, Any], fired: list[Any]) -> list[Any]:
    """What a tick fired, which must all be this schedule's: a tick at a
    chosen `now` fires every due schedule in the suite's shared database, so
    one another test left behind would be fired (and moved on to 2028) by
    this test, and this test's result would depend on the order of tests."""
    others = [str(e.schedule_id) for e in fired if str(e.schedule_id) != schedule["id"]]
    assert others == [], f"the tick fired schedules of other tests: {others}"
    return fired


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def executions_of(client: GraphQLClient, schedule_id: str) -> list[dict[str, Any]]:
    data = await client.data(
        "query($s: ID) { executions(scheduleId: $s) { id scheduleId input } }", {"s": schedule_id}
    )
    result: list[dict[str, Any]] = data["executions"]
    return result


@pytest.mark.parametrize(
    ("cron", "tz"),
    [
        ("61 * * * *", "UTC"),
        ("* * *", "UTC"),
        ("not a cron", "UTC"),
        ("0 9 * * *", "Mars/Olympus"),
        ("0 9 * * * * *", "UTC"),
    ],
)
async def test_invalid_cron_or_zone(alice: GraphQLClient, cron: str, tz: str) -> None:
    created = await script(alice, f"bad-{abs(hash((cron, tz)))}.py", "pass\n")
    error = await alice.error(
        CREATE, {"input": {"scriptId": created["id"], "cron": cron, "timezone": tz}}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_next_runs_with_and_without_seconds(
    schedules: MakeSchedule, alice: GraphQLClient
) -> None:
    five = await schedules(alice, "*/15 * * * *")
    runs = (await alice.data(NEXT_RUNS, {"id": five["id"], "n": 4}))["schedule"]["nextRuns"]
    times = [parse(r) for r in runs]
    assert all(t.minute % 15 == 0 and t.second == 0 for t in times)
    assert [b - a for a, b in itertools.pairwise(times)] == [timedelta(minutes=15)] * 3
    six = await schedules(alice, "30 */5 * * * *")
    runs = (await alice.data(NEXT_RUNS, {"id": six["id"], "n": 3}))["schedule"]["nextRuns"]
    assert all(parse(r).second == 30 and parse(r).minute % 5 == 0 for r in runs)


async def test_each_due_time_fires_once_and_downtime_catches_up_once(
    schedules: MakeSchedule, alice: GraphQLClient, service: Service
) -> None:
    schedule = await schedules(alice, HOURLY_ON_LEAP_DAY, input={"hello": "world"})
    due = parse(schedule["nextRunAt"])
    scheduler = service.process.scheduler
    assert scheduler is not None

    fired = of(schedule, await scheduler.tick(due + timedelta(seconds=1)))
    assert len(fired) == 1
    assert of(schedule, await scheduler.tick(due + timedelta(seconds=2))) == []

    # Five hours of downtime: one catch-up run, not five.
    later = due + timedelta(hours=5, minutes=10)
    caught_up = of(schedule, await scheduler.tick(later))
    assert len(caught_up) == 1
    state = (await alice.data(GET, {"id": schedule["id"]}))["schedule"]
    assert parse(state["nextRunAt"]) == (later + timedelta(hours=1)).replace(
        minute=0, second=0, microsecond=0
    )
    assert state["lastRun"]["id"] == str(caught_up[0].id)
    assert state["lastRun"]["input"] == {"hello": "world"}
    runs = await executions_of(alice, schedule["id"])
    assert len(runs) == 2
    assert all(r["scheduleId"] == schedule["id"] for r in runs)


async def test_several_schedulers_fire_a_due_time_once(
    schedules: MakeSchedule, alice: GraphQLClient, service: Service
) -> None:
    schedule = await schedules(alice, DAILY_ON_LEAP_DAY)
    due = parse(schedule["nextRunAt"]) + timedelta(seconds=1)
    schedulers = [Scheduler(service.process.services.executions) for _ in range(4)]
    results = await asyncio.gather(*(s.tick(due) for s in schedulers))
    assert sum(len(of(schedule, r)) for r in results) == 1
    assert len(await executions_of(alice, schedule["id"])) == 1


async def test_pause_resume_update_delete(
    schedules: MakeSchedule, alice: GraphQLClient, service: Service
) -> None:
    schedule = await schedules(alice, DAILY_ON_LEAP_DAY)
    due = parse(schedule["nextRunAt"])
    paused = await alice.data(
        "mutation($id: ID!) { pauseSchedule(id: $id) { enabled nextRunAt } }",
        {"id": schedule["id"]},
    )
    assert paused["pauseSchedule"] == {"enabled": False, "nextRunAt": None}
    scheduler = service.process.scheduler
    assert scheduler is not None
    # When it would have fired, the paused schedule does not.
    assert of(schedule, await scheduler.tick(due + timedelta(hours=1))) == []
    resumed = await alice.data(
        "mutation($id: ID!) { resumeSchedule(id: $id) { enabled nextRunAt } }",
        {"id": schedule["id"]},
    )
    assert resumed["resumeSchedule"]["enabled"] is True
    updated = await alice.data(
        "mutation($id: ID!, $input: UpdateScheduleInput!) { updateSchedule(id: $id, "
        "input: $input) { cron timezone input nextRunAt } }",
        {
            "id": schedule["id"],
            "input": {"cron": "0 12 * * *", "timezone": "Asia/Tokyo", "input": {"n": 2}},
        },
    )
    assert updated["updateSchedule"]["cron"] == "0 12 * * *"
    assert updated["updateSchedule"]["input"] == {"n": 2}
    next_local = parse(updated["updateSchedule"]["nextRunAt"]).astimezone(ZoneInfo("Asia/Tokyo"))
    assert (next_local.hour, next_local.minute) == (12, 0)
    listed = await alice.data("{ schedules { id } }")
    assert schedule["id"] in [s["id"] for s in listed["schedules"]]
    assert (
        await alice.data("mutation($id: ID!) { deleteSchedule(id: $id) }", {"id": schedule["id"]})
    )["deleteSchedule"]
    assert (await alice.data(GET, {"id": schedule["id"]}))["schedule"] is None


async def test_deleting_the_script_deletes_its_schedules(
    schedules: MakeSchedule, alice: GraphQLClient
) -> None:
    schedule = await schedules(alice, "5 4 * * *")
    await alice.data(
        "mutation($id: ID!) { deleteScript(id: $id) }", {"id": schedule["script"]["id"]}
    )
    assert (await alice.data(GET, {"id": schedule["id"]}))["schedule"] is None


async def test_other_users_schedules_are_invisible(
    schedules: MakeSchedule, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    schedule = await schedules(alice, "1 1 * * *")
    assert (await bob.data(GET, {"id": schedule["id"]}))["schedule"] is None
    error = await bob.error(
        "mutation($id: ID!) { pauseSchedule(id: $id) { id } }", {"id": schedule["id"]}
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert schedule["id"] not in [
        s["id"] for s in (await bob.data("{ schedules { id } }"))["schedules"]
    ]


LAST_RUN = """query($id: ID!) { schedule(id: $id) { nextRunAt
  lastRun { id status input startedAt finishedAt error { code message } } } }"""


def capped_scheduler(service: Service, **limits: int) -> Scheduler:
    """A ticker whose submissions are checked against `limits` instead of
    the service's settings, on the service's own database and bus."""
    settings = replace(service.settings, **limits)  # type: ignore[arg-type]
    executions = ExecutionService(settings, service.process.bus)
    return Scheduler(executions)


async def test_a_tick_over_the_queue_limit_is_recorded_not_lost(
    schedules: MakeSchedule, alice: GraphQLClient, service: Service
) -> None:
    """The limit of runs queued or running holds for ticks as for runScript;
    a refused tick leaves a FAILED run with the code runScript would have
    answered, where the user looks for it, and the next due time runs."""
    schedule = await schedules(alice, DAILY_ON_LEAP_DAY)
    due = parse(schedule["nextRunAt"])
    capped = capped_scheduler(service, max_queued_per_user=1)
    sleeper = await script(alice, "sleeper.py", "import time\ntime.sleep(120)\n")
    running = await alice.data(RUN, {"input": {"scriptId": sleeper["id"], "timeoutSeconds": 120}})
    try:
        refused = of(schedule, await capped.tick(due + timedelta(seconds=1)))
    finally:
        await alice.data(CANCEL, {"id": running["runScript"]["id"]})
    assert len(refused) == 1

    async def sleeper_ended() -> bool:
        found = await alice.data(GET_EXECUTION, {"id": running["runScript"]["id"]})
        return bool(found["execution"]["status"] == "CANCELLED")

    await eventually(sleeper_ended, "the cancelled run ended")

    state = (await alice.data(LAST_RUN, {"id": schedule["id"]}))["schedule"]
    last = state["lastRun"]
    assert last["id"] == str(refused[0].id)
    assert last["status"] == "FAILED"
    assert last["error"]["code"] == "RATE_LIMITED"
    assert "queued or running" in last["error"]["message"]
    assert last["startedAt"] is None and last["finishedAt"] is not None
    assert parse(state["nextRunAt"]) > due, "the refused due time is used up"

    # Below the limit again, the next due time is queued as usual.
    following = of(schedule, await capped.tick(parse(state["nextRunAt"]) + timedelta(seconds=1)))
    assert len(following) == 1
    runs = await alice.data(
        "query($s: ID) { executions(scheduleId: $s) { id status error { code } } }",
        {"s": schedule["id"]},
    )
    assert [r["id"] for r in runs["executions"]] == [str(following[0].id), last["id"]]
    assert runs["executions"][0]["error"] is None


async def test_a_tick_whose_input_is_now_too_large_is_recorded_not_lost(
    schedules: MakeSchedule, alice: GraphQLClient, service: Service
) -> None:
    schedule = await schedules(alice, DAILY_ON_LEAP_DAY, input={"hello": "world"})
    capped = capped_scheduler(service, max_input_bytes=8)
    refused = of(schedule, await capped.tick(parse(schedule["nextRunAt"]) + timedelta(seconds=1)))
    assert len(refused) == 1
    last = (await alice.data(LAST_RUN, {"id": schedule["id"]}))["schedule"]["lastRun"]
    assert (last["status"], last["error"]["code"]) == ("FAILED", "BAD_USER_INPUT")
    assert "at most 8 are allowed" in last["error"]["message"]
    assert last["input"] == {"hello": "world"}


def _local_days(runs: list[str], zone: ZoneInfo) -> list[datetime]:
    return [parse(r).astimezone(zone) for r in runs]


async def test_daylight_saving_days_behave_as_the_zone_says(
    schedules: MakeSchedule, alice: GraphQLClient
) -> None:
    """A year of a daily 02:30 in Berlin covers one spring-forward day (02:30
    does not exist: fires at 03:00) and one fall-back day (02:30 happens twice:
    fires once)."""
    zone = ZoneInfo("Europe/Berlin")
    schedule = await schedules(alice, "30 2 * * *", tz="Europe/Berlin")
    runs = (await alice.data(NEXT_RUNS, {"id": schedule["id"], "n": 370}))["schedule"]["nextRuns"]
    local = _local_days(runs, zone)
    dates = [t.date() for t in local]
    assert len(dates) == len(set(dates)), "a wall time that happens twice fired twice"
    # Every day of the year is there once.
    assert (dates[-1] - dates[0]).days == len(dates) - 1

    def offset_change(t: datetime) -> timedelta:
        """How the zone's UTC offset changes over t's local day."""
        start = datetime.combine(t.date(), time(0), zone).utcoffset()
        end = datetime.combine(t.date(), time(23), zone).utcoffset()
        assert start is not None and end is not None
        return end - start

    spring = [t for t in local if offset_change(t) > timedelta(0)]
    fall = [t for t in local if offset_change(t) < timedelta(0)]
    assert len(spring) == 1 and (spring[0].hour, spring[0].minute) == (3, 0)
    # Once, at the first 02:30 (still summer time, UTC+2).
    assert len(fall) == 1 and (fall[0].hour, fall[0].minute) == (2, 30)
    assert fall[0].utcoffset() == timedelta(hours=2)
    assert all((t.hour, t.minute) == (2, 30) for t in local if t not in spring)
