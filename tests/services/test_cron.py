"""Cron rules (services/cron.py) as a pure unit: which expressions and zones
are accepted, and the fire times around daylight-saving changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.errors import BadUserInput
from services.cron import MAX_NEXT_RUNS, check_cron, next_fire_times, parse_zone

BERLIN = ZoneInfo("Europe/Berlin")


def local(times: list[datetime], zone: ZoneInfo = BERLIN) -> list[tuple[int, int, int, int]]:
    return [(t.month, t.day, t.hour, t.minute) for t in (x.astimezone(zone) for x in times)]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("*/5 * * * *", "*/5 * * * *"),
        ("  0   9 * * 1-5 ", "0 9 * * 1-5"),
        ("30 */5 * * * *", "30 */5 * * * *"),
        ("0 0 29 2 *", "0 0 29 2 *"),
    ],
)
def test_valid_expressions_are_kept_with_spaces_normalised(given: str, kept: str) -> None:
    assert check_cron(given) == kept


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("* * * *", "5 fields"),
        ("* * * * * * *", "5 fields"),
        ("", "5 fields"),
        ("61 * * * *", "not a valid cron expression"),
        ("* 24 * * *", "not a valid cron expression"),
        ("not a cron at all", "not a valid cron expression"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4 *", "never fires"),
    ],
)
def test_invalid_expressions_are_refused_with_a_reason(expression: str, says: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        check_cron(expression)
    assert says in refused.value.message


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "Europe/"])
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        parse_zone(name)
    assert "IANA time zone" in refused.value.message


def test_fire_times_are_strictly_after_the_moment_and_in_utc() -> None:
    at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    runs = next_fire_times("0 * * * *", "UTC", at, 3)
    assert runs == [at + timedelta(hours=n) for n in (1, 2, 3)]
    assert all(t.tzinfo is UTC for t in runs)


def test_six_fields_read_seconds_first() -> None:
    at = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    runs = next_fire_times("15 * * * * *", "UTC", at, 2)
    assert runs == [at + timedelta(seconds=15), at + timedelta(minutes=1, seconds=15)]


def test_a_wall_time_skipped_by_spring_forward_fires_at_the_first_time_after_it() -> None:
    # Berlin, 29 March 2026: 02:00 -> 03:00.
    runs = next_fire_times("30 2 * * *", "Europe/Berlin", datetime(2026, 3, 27, tzinfo=UTC), 3)
    assert local(runs) == [(3, 27, 2, 30), (3, 28, 2, 30), (3, 29, 3, 0)]


def test_a_wall_time_that_happens_twice_fires_once_at_its_first_occurrence() -> None:
    # Berlin, 25 October 2026: 03:00 -> 02:00, so 02:30 happens twice.
    runs = next_fire_times("30 2 * * *", "Europe/Berlin", datetime(2026, 10, 24, tzinfo=UTC), 3)
    assert local(runs) == [(10, 24, 2, 30), (10, 25, 2, 30), (10, 26, 2, 30)]
    assert runs[1].astimezone(BERLIN).utcoffset() == timedelta(hours=2)


def test_with_an_hourly_wildcard_each_real_hour_fires_also_when_repeated() -> None:
    start = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # 01:00 in Berlin, summer time
    runs = next_fire_times("30 * * * *", "Europe/Berlin", start, 4)
    # 01:30 (+2), 02:30 (+2), 02:30 again (+1), 03:30: one hour apart in real time.
    assert [b - a for a, b in itertools.pairwise(runs)] == [timedelta(hours=1)] * 3
    assert [t.astimezone(BERLIN).hour for t in runs] == [1, 2, 2, 3]


def test_the_longest_list_a_client_may_ask_for_covers_a_year_of_daily_runs() -> None:
    runs = next_fire_times("0 9 * * *", "UTC", datetime(2026, 1, 1, tzinfo=UTC), MAX_NEXT_RUNS)
    assert len(runs) == MAX_NEXT_RUNS >= 366
