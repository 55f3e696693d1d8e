"""History statistics in GraphQL."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from core.errors import BadUserInput
from resolvers.context import Context
from services.cron import parse_zone
from services.stats import execution_stats

MAX_DAYS = 366


@strawberry.type
class DayStats:
    label: str = strawberry.field(description="The day, YYYY-MM-DD, in the asked time zone.")
    day: date
    runs: int
    failures: int = strawberry.field(description="FAILED and TIMED_OUT runs.")
    median_duration_ms: float | None
    cpu_seconds: float | None = strawberry.field(
        description="CPU time (user and system) of the day's runs, summed; null when "
        "none was measured."
    )
    peak_memory_bytes: int | None = strawberry.field(
        description="The largest peak memory of the day's runs; null when none was measured."
    )


@strawberry.type
class StatsQuery:
    @strawberry.field(
        description="Runs, failures, median duration and what the runs cost per day for "
        "the last `days` days (today included), in `timeZone` (IANA, default UTC): a chart's data."
    )
    async def execution_stats(
        self, info: Info[Context, None], days: int = 30, time_zone: str = "UTC"
    ) -> list[DayStats]:
        caller = await info.context.caller()
        if not 1 <= days <= MAX_DAYS:
            raise BadUserInput(f"`days` must be between 1 and {MAX_DAYS}.")
        stats = await execution_stats(str(caller.id), days, parse_zone(time_zone))
        return [
            DayStats(
                label=s.day.isoformat(),
                day=s.day,
                runs=s.runs,
                failures=s.failures,
                median_duration_ms=s.median_duration_ms,
                cpu_seconds=s.cpu_seconds,
                peak_memory_bytes=s.peak_memory_bytes,
            )
            for s in stats
        ]
