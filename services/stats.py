"""Per-day execution statistics in the caller's time zone (what the seed's
30-day chart endpoint gave: labels, runs, failures, median duration), and
what the day's runs cost (CPU seconds, largest peak memory)."""

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
    # Over the runs that were measured; None when none was.
    cpu_seconds: float | None
    peak_memory_bytes: int | None


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
    rows = await query.values_list(
        "queued_at",
        "status",
        "duration_ms",
        "cpu_user_seconds",
        "cpu_system_seconds",
        "peak_memory_bytes",
    )
    by_day: dict[date, list[_Run]] = {}
    for queued_at, status, duration, cpu_user, cpu_system, peak_memory in rows:
        by_day.setdefault(queued_at.astimezone(zone).date(), []).append(
            _Run(ExecutionStatus(status), duration, cpu_user, cpu_system, peak_memory)
        )
    result = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        entries = by_day.get(day, [])
        durations = [r.duration_ms for r in entries if r.duration_ms is not None and r.ended]
        cpu = [r.cpu_seconds for r in entries if r.cpu_seconds is not None]
        peaks = [r.peak_memory_bytes for r in entries if r.peak_memory_bytes is not None]
        result.append(
            DayStats(
                day=day,
                runs=len(entries),
                failures=sum(1 for r in entries if r.status in FAILED_STATUSES),
                median_duration_ms=statistics.median(durations) if durations else None,
                cpu_seconds=round(sum(cpu), 6) if cpu else None,
                peak_memory_bytes=max(peaks) if peaks else None,
            )
        )
    return result


@dataclass(frozen=True)
class _Run:
    status: ExecutionStatus
    duration_ms: int | None
    cpu_user_seconds: float | None
    cpu_system_seconds: float | None
    peak_memory_bytes: int | None

    @property
    def ended(self) -> bool:
        return self.status.is_terminal

    @property
    def cpu_seconds(self) -> float | None:
        """User and system time; None when neither was measured."""
        if self.cpu_user_seconds is None and self.cpu_system_seconds is None:
            return None
        return (self.cpu_user_seconds or 0.0) + (self.cpu_system_seconds or 0.0)
