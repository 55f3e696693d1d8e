"""Batches in GraphQL. Thin: check who asks, call the batch service, shape
the answer."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.errors import NotFound
from core.statuses import ExecutionStatus as StatusModel
from models.batches import Batch as BatchRow
from resolvers.context import Context
from resolvers.executions import ExecutionStatus, ExecutionType
from resolvers.retries import RetryPolicyInput, policy_of
from resolvers.tree import script_argument
from resolvers.tree_types import ScriptType
from services.access import get_script


@strawberry.type
class StatusCount:
    status: ExecutionStatus  # type: ignore[valid-type]
    count: int


@strawberry.type(name="Batch")
class BatchType:
    row: strawberry.Private[BatchRow]
    # The statuses of the batch's executions, read once: `counts` and
    # `finished` of one event then describe the same moment, and the
    # subscription ends on exactly the state it sent last.
    statuses: strawberry.Private[list[StatusModel] | None] = None

    async def load_statuses(self, info: Info[Context, None]) -> list[StatusModel]:
        if self.statuses is None:
            self.statuses = await info.context.services.batches.statuses(self.row)
        return self.statuses

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
        for status in await self.load_statuses(info):
            tally[status] += 1
        return [StatusCount(status=s, count=n) for s, n in tally.items()]

    @strawberry.field(description="True when every execution has ended.")
    async def finished(self, info: Info[Context, None]) -> bool:
        return not any(not status.is_terminal for status in await self.load_statuses(info))

    @strawberry.field(description="In input order.")
    async def executions(self, info: Info[Context, None]) -> list[ExecutionType]:
        rows = await info.context.services.batches.executions_of(self.row)
        return [ExecutionType(row=row) for row in rows]


@strawberry.type
class BatchQuery:
    @strawberry.field
    async def batch(self, info: Info[Context, None], id: strawberry.ID) -> BatchType | None:
        caller = await info.context.caller()
        try:
            return BatchType(row=await info.context.services.batches.get(caller, id))
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
        return BatchType(row=batch)

    @strawberry.mutation(description="Cancel every execution of the batch that has not ended.")
    async def cancel_batch(self, info: Info[Context, None], id: strawberry.ID) -> BatchType:
        caller = await info.context.caller()
        batches = info.context.services.batches
        batch = await batches.get(caller, id)
        await batches.cancel(caller, batch)
        return BatchType(row=batch)


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
            view = BatchType(row=batch)
            yield view
            if await view.finished(info):
                return
