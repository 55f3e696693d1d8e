"""What the API side calls about executions: submit, get, list, cancel, wait
for and follow them, and a schedule's tick submits through here too.

The worker may live in this process (embedded mode) or elsewhere; this
service never knows which: it meets the worker only in the database (the
queue, the cancel flag, the output batches) and on the event bus (events,
wake-ups, cancel signals)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from core.codes import ExecutionErrorCode
from core.errors import BadUserInput, RateLimited
from core.retries import OverlapPolicy, RetryPolicy
from core.roles import Role
from core.settings import Settings
from core.statuses import ExecutionStatus
from core.worker_tags import checked_target
from models.executions import Execution, ExecutionCode
from models.files import Artifact
from models.schedules import Schedule
from models.tree import Script
from services.access import Caller, get_visible, require_role, require_run_script
from services.events import ExecutionEvent, ExecutionEventBus
from services.executions import follow as following
from services.executions import history, retries
from services.executions.lifecycle import ExecutionLifecycle, new_execution
from services.executions.output import live_output
from services.executions.output_archive import OutputArchive
from services.executions.submit import (
    CodeToRun,
    check_code,
    check_input_size,
    check_queue_cap,
    checked_files,
    checked_timeout,
    encode_input,
)
from services.user_caps import counting_for, hold_user_row
from storage import ObjectStore

# How long `wait` may take beyond the execution's own timeout, for time spent
# queued and starting.
WAIT_GRACE_SECONDS = 30.0
# How long a cancel of a running execution waits for its worker to stop it.
CANCEL_WAIT_SECONDS = 10.0


class ExecutionService:
    def __init__(
        self, settings: Settings, bus: ExecutionEventBus, store: ObjectStore | None = None
    ) -> None:
        """`store`: where output past `settings.output_inline_bytes` lies."""
        self._settings = settings
        self._bus = bus
        self._archive = OutputArchive(store, settings.output_inline_bytes)
        self.lifecycle = ExecutionLifecycle(bus, self._archive)

    @property
    def bus(self) -> ExecutionEventBus:
        """The bus this API process publishes and follows on (services use it too)."""
        return self._bus

    # --- reading ------------------------------------------------------------------

    async def get(self, caller: Caller, execution_id: str | uuid.UUID) -> Execution:
        return await get_visible(Execution, caller, execution_id, "Execution")

    async def rows_by_id(self, execution_ids: list[str]) -> dict[str, Execution]:
        """Executions by id, unchecked: for a relation of a row the caller
        already sees (a script's last run belongs to the script's owner)."""
        return {str(row.id): row for row in await Execution.filter(id__in=execution_ids)}

    async def page(
        self, caller: Caller, where: history.ExecutionFilter, first: int, after: str | None
    ) -> list[Execution]:
        return await history.page(caller, where, first, after)

    async def output_of(self, row: Execution) -> tuple[str, str]:
        """stdout and stderr: of a RUNNING row, what it printed so far (the
        row gets its output when it ends), whichever process runs it."""
        if row.status is not ExecutionStatus.RUNNING:
            return await self._archive.output_of(row)
        output = await live_output(self._bus, str(row.id))
        return output.stdout, output.stderr

    async def artifacts_of(self, row: Execution) -> list[Artifact]:
        return await Artifact.filter(execution_id=row.id).order_by("name")

    # --- submitting ---------------------------------------------------------------

    async def submit(
        self,
        caller: Caller,
        script: Script,
        input_value: Any,
        timeout_seconds: float | None,
        files: list[str] | None = None,
        target: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> Execution:
        """Queue a run of the script's current version, started by (and
        belonging to) the caller; with `target`, for a worker carrying that
        tag (accepted whether or not one is alive: it waits for one); tried
        again as `retry` says."""
        require_run_script(caller, script)
        row = await self._checked_row(
            caller, script, input_value, timeout_seconds, files, target, retry
        )
        async with counting_for(caller.id):
            await check_queue_cap(self._settings, caller.id)
            await self.lifecycle.create([row])
        await self.lifecycle.announce([row])
        return row

    async def submit_code(
        self,
        caller: Caller,
        code: CodeToRun,
        input_value: Any,
        timeout_seconds: float | None,
        files: list[str] | None = None,
        target: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> Execution:
        """Queue a run of code that is not in the tree, with the checks of
        `submit` and those of saving a script (size, syntax). Its content is
        kept with the execution (and each retry of it), so its history shows
        what ran."""
        # Code of one's own making, as if saved at the top of one's own tree:
        # a token held to one folder runs only the scripts in it.
        require_role(caller, None, caller.id, Role.EDITOR, "run code that is not saved")
        await check_code(self._settings, code)
        row = await self._checked_row(
            caller, None, input_value, timeout_seconds, files, target, retry
        )
        async with counting_for(caller.id):
            await check_queue_cap(self._settings, caller.id)
            await self.lifecycle.create([row])
            await ExecutionCode.create(
                execution_id=row.id,
                language=code.language,
                content=code.content,
                sha256=code.sha256,
                size=code.size,
            )
        await self.lifecycle.announce([row])
        return row

    async def _checked_row(
        self,
        caller: Caller,
        script: Script | None,
        input_value: Any,
        timeout_seconds: float | None,
        files: list[str] | None,
        target: str | None,
        retry: RetryPolicy | None,
    ) -> Execution:
        """The checks every run a caller asks for passes (target, input,
        timeout, files), and the queued row they allow; not yet written.
        The caller's queue cap is checked as it is written (`counting_for`)."""
        target = checked_target(target)
        input_json = encode_input(input_value, self._settings.max_input_bytes)
        timeout = checked_timeout(self._settings, timeout_seconds)
        file_keys = await checked_files(self._settings, str(caller.id), files or [])
        return new_execution(
            caller.id,
            script,
            input_json,
            timeout,
            input_files=file_keys,
            target=target,
            retry=retry,
        )

    async def code_of(self, row: Execution) -> ExecutionCode | None:
        """What a run of unsaved code ran (None for a run of a script)."""
        if row.script_id is not None:
            return None
        return await ExecutionCode.get_or_none(execution_id=row.id)

    async def submit_scheduled(self, schedule: Schedule, script: Script) -> Execution:
        """A schedule's tick: the checks of `submit`, for the schedule's owner.
        Nobody waits for the answer, so a refusal is recorded instead of
        raised: a row that ended FAILED at once, with the code `runScript`
        would have answered (RATE_LIMITED, BAD_USER_INPUT), in the
        schedule's history. Call `announce` once the caller commits."""
        timeout = self._settings.default_timeout_seconds
        # Inside the caller's transaction: the owner's row is held until it commits.
        await hold_user_row(schedule.owner_id)
        try:
            check_input_size(schedule.input_json, self._settings.max_input_bytes)
            await check_queue_cap(self._settings, schedule.owner_id)
            refused = None
        except RateLimited:
            refused = (
                ExecutionErrorCode.RATE_LIMITED,
                f"Not run. Its owner already had {self._settings.max_queued_per_user} "
                "executions queued or running, the most allowed at once.",
            )
        except BadUserInput as exc:
            refused = (ExecutionErrorCode.BAD_USER_INPUT, f"Not run. {exc.message}")
        row = new_execution(
            schedule.owner_id,
            script,
            schedule.input_json,
            timeout,
            schedule_id=schedule.id,
            target=schedule.target,
            refused=refused,
            retry=RetryPolicy.from_json(schedule.retry),
            waits_for_schedule=schedule.overlap is OverlapPolicy.QUEUE,
        )
        await self.lifecycle.create([row])
        return row

    async def announce(self, rows: list[Execution]) -> None:
        await self.lifecycle.announce(rows)

    # --- ending -------------------------------------------------------------------

    async def cancel(self, caller: Caller, execution_id: str, wait: bool = True) -> Execution:
        """Stop a queued or running execution; an ended one is left as it is,
        but a retry that follows it is stopped."""
        row = await retries.last_attempt(await self.get(caller, execution_id))
        if str(row.owner_id) != str(caller.id):
            if row.script_id is None:
                # Unsaved code belongs to no folder: as if at the top of
                # its starter's tree, where only they (and admins) edit.
                require_role(caller, None, row.owner_id, Role.EDITOR, "cancel others' runs")
            else:
                script = await Script.get(id=row.script_id)
                require_role(
                    caller, script.folder_id, script.owner_id, Role.EDITOR, "cancel others' runs"
                )
        if row.status is ExecutionStatus.QUEUED:
            await self.lifecycle.cancel_queued(row)
            await row.refresh_from_db()
        if row.status is ExecutionStatus.RUNNING:
            await self.lifecycle.request_cancel(row)
            if wait:
                await self.wait(row.id, timeout=CANCEL_WAIT_SECONDS)
                await row.refresh_from_db()
        return row

    # --- waiting and following ----------------------------------------------------

    async def wait(self, execution_id: uuid.UUID | str, timeout: float) -> Execution:
        """The row once it is terminal, or as it is when `timeout` runs out."""
        return await following.wait(self._bus, execution_id, timeout)

    async def wait_attempts(self, row: Execution) -> Execution:
        """`wait` for each attempt in turn: the last one once it ended, or
        the attempt under way when one outlives its wait."""
        while True:
            backoff = 0.0
            if row.not_before is not None:
                backoff = max(0.0, (row.not_before - row.queued_at).total_seconds())
            row = await self.wait(row.id, self.wait_timeout(row) + backoff)
            after = await retries.attempt_after(row) if row.status.is_terminal else None
            if after is None:
                return row
            row = after

    def wait_timeout(self, row: Execution) -> float:
        return row.timeout_seconds + WAIT_GRACE_SECONDS

    def follow(self, row: Execution) -> AsyncIterator[ExecutionEvent]:
        """What was printed so far, then live output, then the terminal event."""
        return following.follow(self._bus, row, self.wait_timeout(row), self.output_of)

    async def follow_attempts(
        self, row: Execution
    ) -> AsyncIterator[tuple[ExecutionEvent, Execution | None]]:
        """`follow` of each attempt in turn, from `row` to the last one: each
        event with, on a terminal event that a retry follows, that retry."""
        current: Execution | None = row
        while current is not None:
            after = None
            async for event in self.follow(current):
                # Only a retry policy makes another attempt.
                if event.is_terminal and current.retry is not None:
                    after = await retries.attempt_after(current)
                yield event, after
            current = after

    async def attempt_after(self, row: Execution) -> Execution | None:
        return await retries.attempt_after(row)

    async def first_attempt(self, row: Execution) -> Execution | None:
        return await retries.first_attempt(row)

    async def follow_owner(self, owner_id: str | uuid.UUID) -> AsyncIterator[ExecutionEvent]:
        """Status events of every execution of one owner, from now on."""
        return await self._bus.subscribe_owner(str(owner_id))
