"""Executions in GraphQL: types, queries, mutations and subscriptions. Thin:
check who asks, call the execution service, shape the answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.errors import NotFound
from core.languages import Language as LanguageModel
from core.statuses import ExecutionStatus as StatusModel
from models.executions import Execution as ExecutionRow
from models.executions import ExecutionCode as ExecutionCodeRow
from resolvers.context import Context
from resolvers.files import ArtifactType
from resolvers.imports import BundledScript, bundle_of
from resolvers.resources import ResourceUsageType, resources_of
from resolvers.retries import RetryPolicyInput, policy_of
from resolvers.tree import script_argument
from resolvers.tree_types import Language, ScriptType
from services.access import get_script, sees_run_started_by
from services.events import ExecutionEvent as BusEvent
from services.executions.history import ExecutionFilter, cursor_of
from services.executions.submit import CodeToRun
from services.executions.waiting import waiting_for

ExecutionStatus = strawberry.enum(StatusModel, name="ExecutionStatus")


@strawberry.enum
class OutputStream(Enum):
    STDOUT = "stdout"
    STDERR = "stderr"


@strawberry.type
class ExecutionError:
    code: str
    message: str


@strawberry.type(description="Code that ran without being saved, exactly as it was given.")
class ExecutedCode:
    row: strawberry.Private[ExecutionCodeRow]

    @strawberry.field
    def language(self) -> Language:  # type: ignore[valid-type]
        return self.row.language

    @strawberry.field
    def content(self) -> str:
        return self.row.content

    @strawberry.field
    def sha256(self) -> str:
        return self.row.sha256

    @strawberry.field(description="In bytes (UTF-8).")
    def size(self) -> int:
        return self.row.size


@strawberry.type(name="Execution")
class ExecutionType:
    row: strawberry.Private[ExecutionRow]
    # stdout and stderr, read once for both fields.
    output: strawberry.Private[asyncio.Future[tuple[str, str]] | None] = None

    async def load_output(self, info: Info[Context, None]) -> tuple[str, str]:
        if self.output is None:
            self.output = asyncio.ensure_future(
                info.context.services.executions.output_of(self.row)
            )
        return await self.output

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="Pass as `after` to get the executions older than this one.")
    def cursor(self) -> str:
        return cursor_of(self.row)

    @strawberry.field(description="The script it ran; null for a run of unsaved code (`code`).")
    async def script(self, info: Info[Context, None]) -> ScriptType | None:
        if self.row.script_id is None:
            return None
        caller = await info.context.caller()
        return ScriptType(row=await get_script(caller, self.row.script_id))

    @strawberry.field(
        description="The script version this execution ran (pinned when queued); null for a run "
        "of unsaved code."
    )
    def script_version(self) -> int | None:
        return self.row.script_version

    @strawberry.field(description="What a run of unsaved code (`runCode`) ran; null otherwise.")
    async def code(self, info: Info[Context, None]) -> ExecutedCode | None:
        code = await info.context.services.executions.code_of(self.row)
        return None if code is None else ExecutedCode(row=code)

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
    async def stdout(self, info: Info[Context, None]) -> str:
        return (await self.load_output(info))[0]

    @strawberry.field
    async def stderr(self, info: Info[Context, None]) -> str:
        return (await self.load_output(info))[1]

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

    @strawberry.field(
        description="What the run cost: memory, CPU and wall time. Null until it has "
        "ended, and for a run that never reached a sandbox."
    )
    def resources(self) -> ResourceUsageType | None:
        return resources_of(self.row)

    @strawberry.field(
        description="The sandbox image it ran in, as configured (e.g. "
        "`scriptbox-sandbox:latest`); null for a run that never reached a sandbox."
    )
    def image(self) -> str | None:
        return self.row.image

    @strawberry.field(
        description="The id of that image when the run's container was created: "
        "exactly what ran, even after the tag moved."
    )
    def image_id(self) -> str | None:
        return self.row.image_id

    @strawberry.field(description="Keys of your files that were copied into /job/in/.")
    def input_files(self) -> list[str]:
        return list(self.row.input_files)

    @strawberry.field(description="What the script wrote under /job/out/.")
    async def artifacts(self, info: Info[Context, None]) -> list[ArtifactType]:
        rows = await info.context.services.executions.artifacts_of(self.row)
        return [ArtifactType(row=row) for row in rows]

    @strawberry.field(
        description="Names under /job/out/ that were refused: links, special files, over a cap."
    )
    def rejected_artifacts(self) -> list[str]:
        return list(self.row.rejected_artifacts)

    @strawberry.field(description="The scripts it imported, each in the version it ran with.")
    async def bundle(self, info: Info[Context, None]) -> list[BundledScript]:
        return await bundle_of(await info.context.caller(), self.row)

    @strawberry.field(description="The schedule that started it, if any.")
    def schedule_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self.row.schedule_id)) if self.row.schedule_id else None

    @strawberry.field(description="The batch it belongs to, if any.")
    def batch_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self.row.batch_id)) if self.row.batch_id else None

    @strawberry.field(description="1 for a run, 2 and on for the retries of it.")
    def attempt(self) -> int:
        return self.row.attempt

    @strawberry.field(description="The first attempt, when this one is a retry.")
    async def retry_of(self, info: Info[Context, None]) -> ExecutionType | None:
        if self.row.retry_of_id is None:
            return None
        first = await info.context.services.executions.first_attempt(self.row)
        return None if first is None else ExecutionType(row=first)

    @strawberry.field(description="The retry that followed this attempt, if one did.")
    async def next_attempt(self, info: Info[Context, None]) -> ExecutionType | None:
        after = await info.context.services.executions.attempt_after(self.row)
        return None if after is None else ExecutionType(row=after)

    @strawberry.field(description="The worker tag it requires; null: any worker.")
    def target(self) -> str | None:
        return self.row.target

    @strawberry.field(description="The name of the worker that claimed it, once one has.")
    def worker(self) -> str | None:
        return self.row.worker

    @strawberry.field(
        description="Why it is still QUEUED: no live worker has its tag, a retry's backoff, "
        "the script's maxConcurrentRuns, its batch's concurrency, an earlier run of its "
        "schedule; null when it is not waiting for anything but a free worker."
    )
    async def waiting_for(self, info: Info[Context, None]) -> str | None:
        return await waiting_for(self.row, info.context.services.settings)


@strawberry.type
class ExecutionEvent:
    execution_id: strawberry.ID
    seq: int
    status: ExecutionStatus  # type: ignore[valid-type]
    stream: OutputStream | None = strawberry.field(description="Set on output events.")
    data: str | None = strawberry.field(description="Set on output events.")
    next_attempt_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="On a terminal event that a retry follows: the retry, whose events come next.",
    )
    # The finished row the event carried (in the process that ended it):
    # shown without reading it again to a caller who surely sees it.
    finished_row: strawberry.Private[ExecutionRow | None] = None

    @strawberry.field(description="Set on the terminal event.")
    async def execution(self, info: Info[Context, None]) -> ExecutionType | None:
        status = StatusModel(self.status)
        if self.stream is not None or not status.is_terminal:
            return None
        caller = await info.context.caller()
        if self.finished_row is not None and sees_run_started_by(
            caller, self.finished_row.owner_id
        ):
            return ExecutionType(row=self.finished_row)
        try:
            row = await info.context.services.executions.get(caller, self.execution_id)
        except NotFound:
            return None
        return ExecutionType(row=row)

    @classmethod
    def from_bus(
        cls,
        event: BusEvent,
        next_attempt: ExecutionRow | None = None,
        finished_row: ExecutionRow | None = None,
    ) -> ExecutionEvent:
        return cls(
            execution_id=strawberry.ID(event.execution_id),
            seq=event.seq,
            status=event.status,
            stream=OutputStream(event.stream) if event.stream else None,
            data=event.data,
            next_attempt_id=strawberry.ID(str(next_attempt.id)) if next_attempt else None,
            finished_row=finished_row,
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
        default=False,
        description="Answer once the execution has ended (bounded by its timeout); with "
        "`retry`, its last attempt.",
    )
    retry: RetryPolicyInput | None = strawberry.field(
        default=None, description="Try again on failure; off unless given."
    )
    target: str | None = strawberry.field(
        default=None,
        description="A worker tag: only a worker carrying it runs this (its name is one of "
        "its tags). Waits QUEUED while no live worker has it.",
    )


@strawberry.input(description="Code to run without saving it: checked as a saved script is.")
class RunCodeInput:
    language: Language  # type: ignore[valid-type]
    content: str
    input: JSON | None = strawberry.field(default=None, description="Passed to main(data).")
    files: list[str] | None = strawberry.field(
        default=None, description="Keys of your files, copied read-only into /job/in/."
    )
    timeout_seconds: float | None = None
    wait: bool | None = strawberry.field(
        default=False,
        description="Answer once the execution has ended (bounded by its timeout); with "
        "`retry`, its last attempt.",
    )
    retry: RetryPolicyInput | None = strawberry.field(
        default=None, description="Try again on failure; off unless given."
    )
    target: str | None = strawberry.field(
        default=None,
        description="A worker tag: only a worker carrying it runs this. Waits QUEUED while no "
        "live worker has it.",
    )


@strawberry.type
class ExecutionQuery:
    @strawberry.field
    async def execution(self, info: Info[Context, None], id: strawberry.ID) -> ExecutionType | None:
        caller = await info.context.caller()
        try:
            return ExecutionType(row=await info.context.services.executions.get(caller, id))
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
        caller = await info.context.caller()
        where = ExecutionFilter(
            script_id=script_id,
            status=None if status is None else StatusModel(status),
            schedule_id=schedule_id,
            batch_id=batch_id,
            since=since,
            until=until,
        )
        rows = await info.context.services.executions.page(caller, where, first, after)
        return [ExecutionType(row=row) for row in rows]


@strawberry.type
class ExecutionMutation:
    @strawberry.mutation(description="Queue a run of the script's current version.")
    async def run_script(self, info: Info[Context, None], input: RunScriptInput) -> ExecutionType:
        caller = await info.context.caller()
        script = await script_argument(info, caller, input.script_id, input.path)
        executions = info.context.services.executions
        row = await executions.submit(
            caller,
            script,
            input.input,
            input.timeout_seconds,
            files=input.files,
            target=input.target,
            retry=policy_of(input.retry),
        )
        if input.wait:
            row = await executions.wait_attempts(row)
        return ExecutionType(row=row)

    @strawberry.mutation(
        description="Queue a run of code that is not saved; the execution keeps the code (`code`)."
    )
    async def run_code(self, info: Info[Context, None], input: RunCodeInput) -> ExecutionType:
        caller = await info.context.caller()
        executions = info.context.services.executions
        code = CodeToRun(language=LanguageModel(input.language), content=input.content)
        row = await executions.submit_code(
            caller,
            code,
            input.input,
            input.timeout_seconds,
            files=input.files,
            target=input.target,
            retry=policy_of(input.retry),
        )
        if input.wait:
            row = await executions.wait_attempts(row)
        return ExecutionType(row=row)

    @strawberry.mutation(description="Stop a queued or running execution.")
    async def cancel_execution(self, info: Info[Context, None], id: strawberry.ID) -> ExecutionType:
        caller = await info.context.caller()
        return ExecutionType(row=await info.context.services.executions.cancel(caller, id))


@strawberry.type
class ExecutionSubscription:
    @strawberry.subscription(
        description="What was printed so far, then live output, then the terminal event; "
        "when a retry follows, its events after that (`nextAttemptId` says which), up to "
        "the last attempt."
    )
    async def execution_updates(
        self, info: Info[Context, None], execution_id: strawberry.ID
    ) -> AsyncGenerator[ExecutionEvent, None]:
        caller = await info.context.caller()
        executions = info.context.services.executions
        row = await executions.get(caller, execution_id)
        async for event, next_attempt in executions.follow_attempts(row):
            yield ExecutionEvent.from_bus(event, next_attempt, event.finished)

    @strawberry.subscription(description="Status changes of all of the caller's executions.")
    async def my_executions(
        self, info: Info[Context, None]
    ) -> AsyncGenerator[ExecutionEvent, None]:
        caller = await info.context.caller()
        async for event in await info.context.services.executions.follow_owner(caller.id):
            yield ExecutionEvent.from_bus(event, finished_row=event.finished)
