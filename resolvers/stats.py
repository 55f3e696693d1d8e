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


@strawberry.type
class StatsQuery:
    @strawberry.field(
        description="Runs, failures and median duration per day for the last `days` days "
        "(today included), in `timeZone` (IANA, default UTC): a chart's data."
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
            )
            for s in stats
        ]
