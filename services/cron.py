"""Cron expressions and time zones: validation and next fire times.

Five fields (minute hour day month weekday), or six with seconds first
(second minute hour day month weekday), in an IANA time zone.

Daylight saving, as the zone's wall clock says:
- spring forward: a wall time that does not exist that day fires at the first
  existing time after it (02:30 in a skipped hour fires at 03:00);
- fall back: a wall time that happens twice fires once, at its first
  occurrence, unless the hour field is '*' (then each real hour fires)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from core.errors import BadUserInput

# Enough for a year of daily runs, so a client can show the next DST change.
MAX_NEXT_RUNS = 400


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadUserInput(f"'{name}' is not an IANA time zone (e.g. 'Europe/Berlin').") from None


def check_cron(expression: str) -> str:
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise BadUserInput(
            "A cron expression has 5 fields (minute hour day month weekday), "
            "or 6 with seconds first."
        )
    normalized = " ".join(fields)
    if not croniter.is_valid(normalized, second_at_beginning=len(fields) == 6):
        raise BadUserInput(f"'{expression}' is not a valid cron expression.")
    # Valid field by field is not enough: '0 0 30 2 *' (February 30th) is
    # well formed but no date matches it. Looking for one fire time tells, in
    # about a millisecond (croniter gives up after a bounded search).
    _check_it_fires(normalized)
    return normalized


def _never_fires(expression: str) -> BadUserInput:
    return BadUserInput(
        f"'{expression}' never fires: no date matches it (e.g. February 30th). "
        "Check the day and month fields."
    )


def _check_it_fires(expression: str) -> None:
    start = datetime(2000, 1, 1, tzinfo=UTC)
    iterator = croniter(expression, start, second_at_beginning=len(expression.split()) == 6)
    try:
        iterator.get_next(datetime)
    except CroniterBadDateError:
        raise _never_fires(expression) from None


def _is_repeat_of_ambiguous_time(moment: datetime, zone: ZoneInfo) -> bool:
    naive = moment.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    return first.utcoffset() != second.utcoffset() and moment.utcoffset() == second.utcoffset()


def next_fire_times(
    expression: str, zone_name: str, after: datetime, count: int = 1
) -> list[datetime]:
    """The next `count` fire times strictly after `after`, in UTC."""
    zone = parse_zone(zone_name)
    fields = expression.split()
    hour_is_wildcard = fields[-4] == "*"
    iterator = croniter(
        expression,
        after.astimezone(zone),
        second_at_beginning=len(fields) == 6,
    )
    result: list[datetime] = []
    while len(result) < count:
        try:
            moment: datetime = iterator.get_next(datetime)
        except CroniterBadDateError:
            # Only for a row stored before check_cron refused such expressions.
            raise _never_fires(expression) from None
        if not hour_is_wildcard and _is_repeat_of_ambiguous_time(moment, zone):
            continue
        result.append(moment.astimezone(UTC))
    return result
