"""Per-day execution statistics in the caller's time zone (what the seed's
30-day chart endpoint gave: labels, runs, failures, median duration)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.statuses import ExecutionStatus
from models.executions import Execution

FAILED_STATUSES = {ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT}


@dataclass(frozen=True)
class DayStats:
    day: date
    runs: int
    failures: int
    median_duration_ms: float | None


async def execution_stats(
    owner_id: str | None, days: int, zone: ZoneInfo, now: datetime | None = None
) -> list[DayStats]:
    now = now or datetime.now(UTC)
    today = now.astimezone(zone).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=zone).astimezone(UTC)
    query = Execution.filter(queued_at__gte=since)
    if owner_id is not None:
        query = query.filter(owner_id=owner_id)
    rows = await query.values_list("queued_at", "status", "duration_ms")
    by_day: dict[date, list[tuple[ExecutionStatus, int | None]]] = {}
    for queued_at, status, duration in rows:
        by_day.setdefault(queued_at.astimezone(zone).date(), []).append(
            (ExecutionStatus(status), duration)
        )
    result = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        entries = by_day.get(day, [])
        durations = [d for s, d in entries if d is not None and s.is_terminal]
        result.append(
            DayStats(
                day=day,
                runs=len(entries),
                failures=sum(1 for s, _ in entries if s in FAILED_STATUSES),
                median_duration_ms=statistics.median(durations) if durations else None,
            )
        )
    return result
