"""Schedules: their changes, and the ticker that fires them.

Each due time fires exactly once, also with several schedulers on one
database: a tick claims a schedule by moving its `next_run_at` forward with
a conditional UPDATE, and creates the execution in the same transaction.
After downtime a schedule fires once to catch up, not once per missed tick:
the next due time is computed from now, not from the missed one.

A tick submits through the execution service with the checks of
`runScript`; one refused (the owner's queue is full) is not lost silently:
it is recorded as an execution that ended FAILED at once, with the code
`runScript` would have answered (see ExecutionService.submit_scheduled)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from core import metrics
from core.retries import OverlapPolicy, RetryPolicy
from core.settings import Settings
from core.tasks import cancel_and_wait
from core.worker_tags import checked_target
from models.executions import Execution
from models.schedules import Schedule
from models.tree import Script
from services.access import Caller, get_visible, require_owner, require_run_script, visible
from services.cron import check_cron, next_fire_times, parse_zone
from services.executions.service import ExecutionService
from services.executions.submit import PENDING, encode_input

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Schedules:
    def __init__(self, settings: Settings, clock: Clock = utc_now) -> None:
        self._settings = settings
        self._clock = clock

    async def get(self, caller: Caller, schedule_id: str) -> Schedule:
        return await get_visible(Schedule, caller, schedule_id, "Schedule")

    async def for_user(self, caller: Caller, script_id: str | None = None) -> list[Schedule]:
        """The schedules the user may see (of one script), oldest first."""
        query = visible(Schedule.all(), caller)
        if script_id is not None:
            query = query.filter(script_id=script_id)
        return await query.order_by("created_at")

    async def get_to_change(self, caller: Caller, schedule_id: str) -> Schedule:
        """A schedule the caller sees and may change: their own (or, for an
        admin, anyone's); one they only see is FORBIDDEN."""
        row = await self.get(caller, schedule_id)
        require_owner(caller, row.owner_id, "change this schedule")
        return row

    async def delete(self, caller: Caller, schedule_id: str) -> None:
        row = await self.get_to_change(caller, schedule_id)
        await row.delete()

    async def create(
        self,
        caller: Caller,
        script: Script,
        cron: str,
        timezone: str,
        input_value: Any,
        enabled: bool,
        name: str | None,
        overlap: OverlapPolicy = OverlapPolicy.RUN_ANYWAY,
        retry: RetryPolicy | None = None,
        target: str | None = None,
    ) -> Schedule:
        """`target`: the worker tag each of its runs requires (None: any)."""
        require_run_script(caller, script)
        cron = check_cron(cron)
        parse_zone(timezone)
        return await Schedule.create(
            owner_id=caller.id,
            script_id=script.id,
            name=name,
            cron=cron,
            timezone=timezone,
            input_json=encode_input(input_value, self._settings.max_input_bytes),
            enabled=enabled,
            target=checked_target(target),
            next_run_at=self._next(cron, timezone) if enabled else None,
            overlap=overlap,
            retry=None if retry is None else retry.to_json(),
        )

    async def update(
        self,
        row: Schedule,
        *,
        cron: str | None = None,
        timezone: str | None = None,
        input_value: Any = None,
        input_given: bool = False,
        enabled: bool | None = None,
        name: str | None = None,
        overlap: OverlapPolicy | None = None,
        retry: RetryPolicy | None = None,
        retry_given: bool = False,
        target: str | None = None,
        target_given: bool = False,
    ) -> Schedule:
        if cron is not None:
            row.cron = check_cron(cron)
        if timezone is not None:
            parse_zone(timezone)
            row.timezone = timezone
        if input_given:
            row.input_json = encode_input(input_value, self._settings.max_input_bytes)
        if enabled is not None:
            row.enabled = enabled
        if name is not None:
            row.name = name
        if overlap is not None:
            row.overlap = overlap
        if retry_given:
            row.retry = None if retry is None else retry.to_json()
        if target_given:
            row.target = checked_target(target)
        row.next_run_at = self._next(row.cron, row.timezone) if row.enabled else None
        await row.save()
        return row

    def next_runs(self, row: Schedule, count: int) -> list[datetime]:
        if not row.enabled:
            return []
        return next_fire_times(row.cron, row.timezone, self._clock(), count)

    def _next(self, cron: str, timezone: str, after: datetime | None = None) -> datetime:
        return next_fire_times(cron, timezone, after or self._clock())[0]


class Scheduler:
    """The ticker. `tick(now)` is also what tests call to drive time."""

    def __init__(
        self, executions: ExecutionService, clock: Clock = utc_now, interval: float = 1.0
    ) -> None:
        self._executions = executions
        self._clock = clock
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("schedule tick failed")
            await asyncio.sleep(self._interval)

    async def tick(self, now: datetime | None = None) -> list[Execution]:
        """Fire every schedule due at `now`; returns the executions created."""
        now = now or self._clock()
        # A deactivated owner's schedules wait, due, until they are
        # reactivated; then each fires once to catch up.
        due = await Schedule.filter(
            enabled=True, next_run_at__lte=now, owner__is_active=True
        ).select_related("script")
        fired: list[Execution] = []
        for schedule in due:
            row = await self._fire(schedule, now)
            if row is not None:
                fired.append(row)
        if fired:
            await self._executions.announce(fired)
        return fired

    async def _fire(self, schedule: Schedule, now: datetime) -> Execution | None:
        following = next_fire_times(schedule.cron, schedule.timezone, now)[0]
        script: Script = schedule.script
        async with in_transaction():
            claimed = await Schedule.filter(
                id=schedule.id, next_run_at=schedule.next_run_at, enabled=True
            ).update(next_run_at=following, last_run_at=now)
            if claimed != 1:
                return None  # another scheduler fired this due time
            if schedule.next_run_at is not None:
                lag = (now - schedule.next_run_at).total_seconds()
                metrics.SCHEDULER_LAG.observe(max(0.0, lag))
            if schedule.overlap is OverlapPolicy.SKIP and await self._still_going(schedule):
                log.info("schedule %s skipped a tick: its last run has not ended", schedule.id)
                return None
            row = await self._executions.submit_scheduled(schedule, script)
            await Schedule.filter(id=schedule.id).update(last_execution_id=row.id)
        if row.error_code is None:
            log.info("schedule %s fired execution %s", schedule.id, row.id)
        else:
            log.warning(
                "schedule %s was refused (%s): execution %s", schedule.id, row.error_code, row.id
            )
        return row

    @staticmethod
    async def _still_going(schedule: Schedule) -> bool:
        """Whether a run of the schedule (or a retry of one) is queued or running."""
        return await Execution.exists(schedule_id=schedule.id, status__in=PENDING)
