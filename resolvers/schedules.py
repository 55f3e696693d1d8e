"""Schedules in GraphQL. Thin: check who asks, call the schedule service,
shape the answer."""

from __future__ import annotations

import json
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.errors import BadUserInput, NotFound
from core.retries import OverlapPolicy as OverlapModel
from core.retries import RetryPolicy as RetryPolicyModel
from models.schedules import Schedule as ScheduleRow
from resolvers.context import Context
from resolvers.executions import ExecutionType
from resolvers.retries import OverlapPolicy, RetryPolicyInput, RetrySettings, policy_of
from resolvers.tree import script_argument
from resolvers.tree_types import ScriptType
from services.access import get_script
from services.cron import MAX_NEXT_RUNS


@strawberry.type(name="Schedule")
class ScheduleType:
    row: strawberry.Private[ScheduleRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def name(self) -> str | None:
        return self.row.name

    @strawberry.field(description="5 fields, or 6 with seconds first.")
    def cron(self) -> str:
        return self.row.cron

    @strawberry.field(description="IANA time zone the cron expression is read in.")
    def timezone(self) -> str:
        return self.row.timezone

    @strawberry.field
    def input(self) -> JSON | None:
        return cast(JSON, json.loads(self.row.input_json))

    @strawberry.field(description="The worker tag each of its runs requires; null: any worker.")
    def target(self) -> str | None:
        return self.row.target

    @strawberry.field
    def enabled(self) -> bool:
        return self.row.enabled

    @strawberry.field
    def next_run_at(self) -> datetime | None:
        return self.row.next_run_at

    @strawberry.field
    def last_run_at(self) -> datetime | None:
        return self.row.last_run_at

    @strawberry.field
    async def last_run(self, info: Info[Context, None]) -> ExecutionType | None:
        if self.row.last_execution_id is None:
            return None
        row = await info.context.loaders.executions.load(str(self.row.last_execution_id))
        return ExecutionType(row=row) if row else None

    @strawberry.field(description="The next `count` fire times (UTC).")
    def next_runs(self, info: Info[Context, None], count: int = 5) -> list[datetime]:
        if not 1 <= count <= MAX_NEXT_RUNS:
            raise BadUserInput(f"`count` must be between 1 and {MAX_NEXT_RUNS}.")
        return info.context.services.schedules.next_runs(self.row, count)

    @strawberry.field
    async def script(self, info: Info[Context, None]) -> ScriptType:
        caller = await info.context.caller()
        return ScriptType(row=await get_script(caller, self.row.script_id))

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="What a tick does while an earlier run has not ended.")
    def overlap(self) -> OverlapPolicy:  # type: ignore[valid-type]
        return self.row.overlap

    @strawberry.field(description="The retry policy of each run it fires, if any.")
    def retry(self) -> RetrySettings | None:
        return RetrySettings.of(RetryPolicyModel.from_json(self.row.retry))


@strawberry.input
class CreateScheduleInput:
    script_id: strawberry.ID | None = None
    path: str | None = None
    cron: str
    timezone: str = "UTC"
    input: JSON | None = None
    enabled: bool = True
    name: str | None = None
    target: str | None = strawberry.field(
        default=None, description="A worker tag each run requires (default: any worker)."
    )
    overlap: OverlapPolicy = OverlapModel.RUN_ANYWAY  # type: ignore[valid-type]
    retry: RetryPolicyInput | None = None


@strawberry.input
class UpdateScheduleInput:
    cron: str | None = None
    timezone: str | None = None
    input: JSON | None = strawberry.UNSET
    enabled: bool | None = None
    name: str | None = None
    target: str | None = strawberry.field(
        default=strawberry.UNSET, description="A worker tag each run requires; null: any worker."
    )
    overlap: OverlapPolicy | None = None  # type: ignore[valid-type]
    retry: RetryPolicyInput | None = strawberry.field(
        default=strawberry.UNSET, description="null stops retrying."
    )


@strawberry.type
class ScheduleQuery:
    @strawberry.field
    async def schedules(
        self, info: Info[Context, None], script_id: strawberry.ID | None = None
    ) -> list[ScheduleType]:
        caller = await info.context.caller()
        of_script = None
        if script_id is not None:
            of_script = str((await script_argument(info, caller, script_id, None)).id)
        rows = await info.context.services.schedules.for_user(caller, of_script)
        return [ScheduleType(row=row) for row in rows]

    @strawberry.field
    async def schedule(self, info: Info[Context, None], id: strawberry.ID) -> ScheduleType | None:
        caller = await info.context.caller()
        try:
            return ScheduleType(row=await info.context.services.schedules.get(caller, id))
        except NotFound:
            return None


@strawberry.type
class ScheduleMutation:
    @strawberry.mutation
    async def create_schedule(
        self, info: Info[Context, None], input: CreateScheduleInput
    ) -> ScheduleType:
        caller = await info.context.caller()
        script = await script_argument(info, caller, input.script_id, input.path)
        row = await info.context.services.schedules.create(
            caller,
            script,
            input.cron,
            input.timezone,
            input.input,
            input.enabled,
            input.name,
            target=input.target,
            overlap=OverlapModel(input.overlap),
            retry=policy_of(input.retry),
        )
        return ScheduleType(row=row)

    @strawberry.mutation
    async def update_schedule(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateScheduleInput
    ) -> ScheduleType:
        caller = await info.context.caller()
        schedules = info.context.services.schedules
        row = await schedules.get_to_change(caller, id)
        given = input.input is not strawberry.UNSET
        target_given = input.target is not strawberry.UNSET
        retry_given = input.retry is not strawberry.UNSET
        row = await schedules.update(
            row,
            cron=input.cron,
            timezone=input.timezone,
            input_value=input.input if given else None,
            input_given=given,
            enabled=input.enabled,
            name=input.name,
            target=input.target if target_given else None,
            target_given=target_given,
            overlap=None if input.overlap is None else OverlapModel(input.overlap),
            retry=policy_of(input.retry) if retry_given else None,
            retry_given=retry_given,
        )
        return ScheduleType(row=row)

    @strawberry.mutation
    async def pause_schedule(self, info: Info[Context, None], id: strawberry.ID) -> ScheduleType:
        caller = await info.context.caller()
        schedules = info.context.services.schedules
        return ScheduleType(
            row=await schedules.update(await schedules.get_to_change(caller, id), enabled=False)
        )

    @strawberry.mutation
    async def resume_schedule(self, info: Info[Context, None], id: strawberry.ID) -> ScheduleType:
        caller = await info.context.caller()
        schedules = info.context.services.schedules
        return ScheduleType(
            row=await schedules.update(await schedules.get_to_change(caller, id), enabled=True)
        )

    @strawberry.mutation
    async def delete_schedule(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        caller = await info.context.caller()
        await info.context.services.schedules.delete(caller, id)
        return True
