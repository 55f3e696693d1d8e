"""Batches in GraphQL. Thin: check who asks, call the batch service, shape
the answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from core.errors import NotFound
from core.statuses import ExecutionStatus as StatusModel
from models.batches import Batch as BatchRow
from resolvers.context import Context
from resolvers.executions import ExecutionStatus, ExecutionType
from resolvers.retries import RetryPolicyInput, policy_of
from resolvers.tree import script_argument
from resolvers.tree_types import ScriptType
from services.access import get_script
from services.batches import BatchState


@strawberry.type
class StatusCount:
    status: ExecutionStatus  # type: ignore[valid-type]
    count: int


@strawberry.type(name="Batch")
class BatchType:
    row: strawberry.Private[BatchRow]
    # Whether the answer lists `executions`: then every field is answered from
    # those rows; otherwise from a read of their statuses alone.
    with_executions: strawberry.Private[bool] = False
    # The one read of the batch's executions that every field of this answer
    # uses, whichever field starts it (graphql-core resolves them at once):
    # `counts`, `finished` and `executions` then describe the same moment,
    # and the subscription ends on exactly the state it sent last.
    reading: strawberry.Private[asyncio.Task[BatchState] | None] = None

    @classmethod
    def answering(cls, row: BatchRow, info: Info[Context, None]) -> BatchType:
        asked = [selection for field in info.selected_fields for selection in field.selections]
        return cls(row=row, with_executions=selects(asked, "executions"))

    async def state(self, info: Info[Context, None]) -> BatchState:
        if self.reading is None:
            self.reading = asyncio.ensure_future(
                info.context.services.batches.state(self.row, with_rows=self.with_executions)
            )
        return await asyncio.shield(self.reading)

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def size(self) -> int:
        return self.row.size

    @strawberry.field
    def concurrency(self) -> int:
        return self.row.concurrency

    @strawberry.field(
        description="The worker tag it was placed by: each run requires it (runBatch), "
        "or went to its own worker carrying it (runOnWorkers)."
    )
    def target(self) -> str | None:
        return self.row.target

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    async def script(self, info: Info[Context, None]) -> ScriptType:
        caller = await info.context.caller()
        return ScriptType(row=await get_script(caller, self.row.script_id))

    @strawberry.field(description="How many executions are in each status.")
    async def counts(self, info: Info[Context, None]) -> list[StatusCount]:
        tally = {status: 0 for status in StatusModel}
        for status in (await self.state(info)).statuses:
            tally[status] += 1
        return [StatusCount(status=s, count=n) for s, n in tally.items()]

    @strawberry.field(description="True when every execution has ended.")
    async def finished(self, info: Info[Context, None]) -> bool:
        return (await self.state(info)).finished

    @strawberry.field(description="In input order.")
    async def executions(self, info: Info[Context, None]) -> list[ExecutionType]:
        rows = (await self.state(info)).rows
        if rows is None:  # `executions` was not foreseen in the selection
            batches = info.context.services.batches
            rows = (await batches.state(self.row, with_rows=True)).rows or []
        return [ExecutionType(row=row) for row in rows]


def selects(selections: Sequence[Selection], name: str) -> bool:
    """Whether `name` is asked for among `selections`, through fragments."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                return True
        elif selects(selection.selections, name):  # a fragment: what it selects
            return True
    return False


@strawberry.type
class BatchQuery:
    @strawberry.field
    async def batch(self, info: Info[Context, None], id: strawberry.ID) -> BatchType | None:
        caller = await info.context.caller()
        try:
            return BatchType.answering(await info.context.services.batches.get(caller, id), info)
        except NotFound:
            return None


@strawberry.type
class BatchMutation:
    @strawberry.mutation(description="One execution per input, at most `concurrency` at once.")
    async def run_batch(
        self,
        info: Info[Context, None],
        inputs: list[JSON],
        script_id: strawberry.ID | None = None,
        path: str | None = None,
        concurrency: int = 4,
        target: str | None = None,
        retry: RetryPolicyInput | None = None,
    ) -> BatchType:
        caller = await info.context.caller()
        script = await script_argument(info, caller, script_id, path)
        batch = await info.context.services.batches.submit(
            caller, script, list(inputs), concurrency, target, retry=policy_of(retry)
        )
        return BatchType.answering(batch, info)

    @strawberry.mutation(description="Cancel every execution of the batch that has not ended.")
    async def cancel_batch(self, info: Info[Context, None], id: strawberry.ID) -> BatchType:
        caller = await info.context.caller()
        batches = info.context.services.batches
        batch = await batches.get(caller, id)
        await batches.cancel(caller, batch)
        return BatchType.answering(batch, info)


@strawberry.type
class BatchSubscription:
    @strawberry.subscription(description="The batch after each status change; ends when done.")
    async def batch_updates(
        self, info: Info[Context, None], batch_id: strawberry.ID
    ) -> AsyncGenerator[BatchType, None]:
        caller = await info.context.caller()
        batches = info.context.services.batches
        batch = await batches.get(caller, batch_id)
        async for _ in batches.changes(batch):
            view = BatchType.answering(batch, info)
            yield view
            if await view.finished(info):
                return
