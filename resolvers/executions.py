"""Executions in GraphQL: types, queries, mutations and subscriptions."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info
from tortoise.expressions import Q

from core.errors import BadUserInput, NotFound
from core.ids import parse_id
from core.statuses import ExecutionStatus as StatusModel
from models.executions import Execution as ExecutionRow
from models.files import Artifact as ArtifactRow
from models.tree import Script
from resolvers.context import Context
from resolvers.files import ArtifactType
from resolvers.tree import script_argument
from resolvers.tree_types import ScriptType
from services.access import get_script, visible
from services.events import ExecutionEvent as BusEvent

ExecutionStatus = strawberry.enum(StatusModel, name="ExecutionStatus")

MAX_PAGE_SIZE = 200


@strawberry.enum
class OutputStream(Enum):
    STDOUT = "stdout"
    STDERR = "stderr"


@strawberry.type
class ExecutionError:
    code: str
    message: str


@strawberry.type(name="Execution")
class ExecutionType:
    row: strawberry.Private[ExecutionRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="Pass as `after` to get the executions older than this one.")
    def cursor(self) -> str:
        return _cursor(self.row)

    @strawberry.field
    async def script(self, info: Info[Context, None]) -> ScriptType:
        script = await Script.get(id=self.row.script_id)
        return ScriptType(row=script)

    @strawberry.field(description="The script version this execution ran (pinned when queued).")
    def script_version(self) -> int:
        return self.row.script_version

    @strawberry.field
    def status(self) -> ExecutionStatus:  # type: ignore[valid-type]
        return self.row.status

    @strawberry.field
    def input(self) -> JSON | None:
        return cast(JSON, json.loads(self.row.input_json))

    @strawberry.field
    def result(self) -> JSON | None:
        return (
            None if self.row.result_json is None else cast(JSON, json.loads(self.row.result_json))
        )

    @strawberry.field
    def error(self) -> ExecutionError | None:
        if self.row.error_code is None:
            return None
        return ExecutionError(code=self.row.error_code, message=self.row.error_message or "")

    @strawberry.field
    def exit_code(self) -> int | None:
        return self.row.exit_code

    @strawberry.field
    def stdout(self, info: Info[Context, None]) -> str:
        live = info.context.services.executions.live_output(str(self.row.id))
        return live[0] if live and not self.row.status.is_terminal else self.row.stdout

    @strawberry.field
    def stderr(self, info: Info[Context, None]) -> str:
        live = info.context.services.executions.live_output(str(self.row.id))
        return live[1] if live and not self.row.status.is_terminal else self.row.stderr

    @strawberry.field(description="True when output was cut at the per-stream cap.")
    def output_truncated(self) -> bool:
        return self.row.output_truncated

    @strawberry.field
    def timeout_seconds(self) -> float:
        return self.row.timeout_seconds

    @strawberry.field
    def queued_at(self) -> datetime:
        return self.row.queued_at

    @strawberry.field
    def started_at(self) -> datetime | None:
        return self.row.started_at

    @strawberry.field
    def finished_at(self) -> datetime | None:
        return self.row.finished_at

    @strawberry.field
    def duration_ms(self) -> int | None:
        return self.row.duration_ms

    @strawberry.field(description="Keys of your files that were copied into /job/in/.")
    def input_files(self) -> list[str]:
        return list(self.row.input_files)

    @strawberry.field(description="What the script wrote under /job/out/.")
    async def artifacts(self) -> list[ArtifactType]:
        rows = await ArtifactRow.filter(execution_id=self.row.id).order_by("name")
        return [ArtifactType(row=row) for row in rows]

    @strawberry.field(
        description="Names under /job/out/ that were refused: links, special files, over a cap."
    )
    def rejected_artifacts(self) -> list[str]:
        return list(self.row.rejected_artifacts)

    @strawberry.field(description="The schedule that started it, if any.")
    def schedule_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self.row.schedule_id)) if self.row.schedule_id else None

    @strawberry.field(description="The batch it belongs to, if any.")
    def batch_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self.row.batch_id)) if self.row.batch_id else None


@strawberry.type
class ExecutionEvent:
    execution_id: strawberry.ID
    seq: int
    status: ExecutionStatus  # type: ignore[valid-type]
    stream: OutputStream | None = strawberry.field(description="Set on output events.")
    data: str | None = strawberry.field(description="Set on output events.")

    @strawberry.field(description="Set on the terminal event.")
    async def execution(self, info: Info[Context, None]) -> ExecutionType | None:
        status = StatusModel(self.status)
        if self.stream is not None or not status.is_terminal:
            return None
        row = await ExecutionRow.get_or_none(id=str(self.execution_id))
        return ExecutionType(row=row) if row else None

    @classmethod
    def from_bus(cls, event: BusEvent) -> ExecutionEvent:
        return cls(
            execution_id=strawberry.ID(event.execution_id),
            seq=event.seq,
            status=event.status,
            stream=OutputStream(event.stream) if event.stream else None,
            data=event.data,
        )


@strawberry.input
class RunScriptInput:
    script_id: strawberry.ID | None = None
    path: str | None = strawberry.field(default=None, description="e.g. 'geology/analysis.py'")
    input: JSON | None = strawberry.field(default=None, description="Passed to main(data).")
    timeout_seconds: float | None = None
    files: list[str] | None = strawberry.field(
        default=None, description="Keys of your files, copied read-only into /job/in/."
    )
    wait: bool = strawberry.field(
        default=False, description="Answer once the execution has ended (bounded by its timeout)."
    )


def _cursor(row: ExecutionRow) -> str:
    return base64.urlsafe_b64encode(f"execution:{row.id}".encode()).decode()


def _cursor_id(cursor: str) -> str:
    try:
        kind, _, execution_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except ValueError:
        kind, execution_id = "", ""
    if kind != "execution" or not execution_id:
        raise BadUserInput("`after` is not a cursor this API gave out.")
    return execution_id


@strawberry.type
class ExecutionQuery:
    @strawberry.field
    async def execution(self, info: Info[Context, None], id: strawberry.ID) -> ExecutionType | None:
        user = await info.context.require_user()
        try:
            return ExecutionType(row=await info.context.services.executions.get(user, id))
        except NotFound:
            return None

    @strawberry.field(
        description="Newest first. `after` is the `cursor` of the last execution of the "
        "previous page."
    )
    async def executions(
        self,
        info: Info[Context, None],
        script_id: strawberry.ID | None = None,
        status: ExecutionStatus | None = None,  # type: ignore[valid-type]
        first: int = 50,
        after: str | None = None,
        schedule_id: strawberry.ID | None = None,
        batch_id: strawberry.ID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ExecutionType]:
        user = await info.context.require_user()
        if not 1 <= first <= MAX_PAGE_SIZE:
            raise BadUserInput(f"`first` must be between 1 and {MAX_PAGE_SIZE}.")
        query = visible(ExecutionRow.all(), user)
        if script_id is not None:
            query = query.filter(script_id=(await get_script(user, script_id)).id)
        if status is not None:
            query = query.filter(status=StatusModel(status))
        if schedule_id is not None:
            query = query.filter(schedule_id=parse_id(schedule_id, "Schedule"))
        if batch_id is not None:
            query = query.filter(batch_id=parse_id(batch_id, "Batch"))
        if since is not None:
            query = query.filter(queued_at__gte=since)
        if until is not None:
            query = query.filter(queued_at__lt=until)
        if after is not None:
            # Keyset pagination on (queued_at, id), both descending: stable
            # while new executions arrive at the top.
            last = await info.context.services.executions.get(user, _cursor_id(after))
            query = query.filter(
                Q(queued_at__lt=last.queued_at) | Q(queued_at=last.queued_at, id__lt=last.id)
            )
        rows = await query.order_by("-queued_at", "-id").limit(first)
        return [ExecutionType(row=row) for row in rows]


@strawberry.type
class ExecutionMutation:
    @strawberry.mutation(description="Queue a run of the script's current version.")
    async def run_script(self, info: Info[Context, None], input: RunScriptInput) -> ExecutionType:
        user = await info.context.require_user()
        script = await script_argument(info, user, input.script_id, input.path)
        executions = info.context.services.executions
        row = await executions.submit(
            user, script, input.input, input.timeout_seconds, files=input.files
        )
        if input.wait:
            row = await executions.wait(row.id, executions.wait_timeout(row))
        return ExecutionType(row=row)

    @strawberry.mutation(description="Stop a queued or running execution.")
    async def cancel_execution(self, info: Info[Context, None], id: strawberry.ID) -> ExecutionType:
        user = await info.context.require_user()
        return ExecutionType(row=await info.context.services.executions.cancel(user, id))


@strawberry.type
class ExecutionSubscription:
    @strawberry.subscription(
        description="What was printed so far, then live output, then the terminal event."
    )
    async def execution_updates(
        self, info: Info[Context, None], execution_id: strawberry.ID
    ) -> AsyncGenerator[ExecutionEvent, None]:
        user = await info.context.require_user()
        executions = info.context.services.executions
        row = await executions.get(user, execution_id)
        async for event in executions.follow(row):
            yield ExecutionEvent.from_bus(event)

    @strawberry.subscription(description="Status changes of all of the caller's executions.")
    async def my_executions(
        self, info: Info[Context, None]
    ) -> AsyncGenerator[ExecutionEvent, None]:
        user = await info.context.require_user()
        async for event in await info.context.services.executions.follow_owner(user):
            yield ExecutionEvent.from_bus(event)
