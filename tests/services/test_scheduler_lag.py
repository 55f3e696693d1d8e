"""The scheduler's lag metric: how late a due time fired, observed once per
firing (time driven by the scheduler's tick, as in test_schedules.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import metrics
from tests.services.test_schedules import HOURLY_ON_LEAP_DAY, make_schedule, of, parse
from tests.support.client import GraphQLClient
from tests.support.servers import Service

pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

LAG = "scriptbox_scheduler_lag_seconds"


def observed() -> tuple[float, float]:
    count = metrics.COUNTED.get_sample_value(f"{LAG}_count") or 0.0
    total = metrics.COUNTED.get_sample_value(f"{LAG}_sum") or 0.0
    return count, total


async def test_a_late_tick_is_observed_once(service: Service, alice: GraphQLClient) -> None:
    schedule = await make_schedule(alice, HOURLY_ON_LEAP_DAY)
    try:
        scheduler = service.process.scheduler
        assert scheduler is not None
        due = parse(schedule["nextRunAt"])
        count, total = observed()
        assert len(of(schedule, await scheduler.tick(due + timedelta(seconds=90)))) == 1
        assert observed() == (count + 1, total + 90)
        # Nothing due any more: nothing observed.
        assert of(schedule, await scheduler.tick(due + timedelta(seconds=91))) == []
        assert observed() == (count + 1, total + 90)
    finally:
        await alice.execute(
            "mutation($id: ID!) { deleteSchedule(id: $id) }", {"id": schedule["id"]}
        )
