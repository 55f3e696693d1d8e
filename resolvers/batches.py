"""Batches in GraphQL."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.errors import NotFound
from core.statuses import ExecutionStatus as StatusModel
from models.batches import Batch as BatchRow
from models.executions import Execution as ExecutionRow
from models.users import User
from resolvers.context import Context
from resolvers.executions import ExecutionStatus, ExecutionType
from resolvers.tree import script_argument
from resolvers.tree_types import ScriptType
from services.access import get_visible


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

    async def load_statuses(self) -> list[StatusModel]:
        if self.statuses is None:
            found: list[str] = await ExecutionRow.filter(  # type: ignore[assignment]
                batch_id=self.row.id
            ).values_list("status", flat=True)
            self.statuses = [StatusModel(status) for status in found]
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

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    async def script(self) -> ScriptType:
        from models.tree import Script

        return ScriptType(row=await Script.get(id=self.row.script_id))

    @strawberry.field(description="How many executions are in each status.")
    async def counts(self) -> list[StatusCount]:
        tally = {status: 0 for status in StatusModel}
        for status in await self.load_statuses():
            tally[status] += 1
        return [StatusCount(status=s, count=n) for s, n in tally.items()]

    @strawberry.field(description="True when every execution has ended.")
    async def finished(self) -> bool:
        return not any(
            status in (StatusModel.QUEUED, StatusModel.RUNNING)
            for status in await self.load_statuses()
        )

    @strawberry.field(description="In input order.")
    async def executions(self) -> list[ExecutionType]:
        rows = await ExecutionRow.filter(batch_id=self.row.id).order_by("queued_at", "id")
        return [ExecutionType(row=row) for row in rows]


async def get_batch(user: User, batch_id: str) -> BatchRow:
    return await get_visible(BatchRow, user, batch_id, "Batch")


@strawberry.type
class BatchQuery:
    @strawberry.field
    async def batch(self, info: Info[Context, None], id: strawberry.ID) -> BatchType | None:
        user = await info.context.require_user()
        try:
            return BatchType(row=await get_batch(user, id))
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
    ) -> BatchType:
        user = await info.context.require_user()
        script = await script_argument(info, user, script_id, path)
        batch = await info.context.services.executions.submit_batch(
            user, script, list(inputs), concurrency
        )
        return BatchType(row=batch)

    @strawberry.mutation(description="Cancel every execution of the batch that has not ended.")
    async def cancel_batch(self, info: Info[Context, None], id: strawberry.ID) -> BatchType:
        user = await info.context.require_user()
        batch = await get_batch(user, id)
        await info.context.services.executions.cancel_batch(user, batch)
        return BatchType(row=batch)


@strawberry.type
class BatchSubscription:
    @strawberry.subscription(description="The batch after each status change; ends when done.")
    async def batch_updates(
        self, info: Info[Context, None], batch_id: strawberry.ID
    ) -> AsyncGenerator[BatchType, None]:
        user = await info.context.require_user()
        batch = await get_batch(user, batch_id)
        events = await info.context.services.executions.follow_owner_id(str(batch.owner_id))
        view = BatchType(row=batch)
        yield view
        if await view.finished():
            return
        async for event in events:
            if event.batch_id == str(batch.id) and event.status.is_terminal:
                view = BatchType(row=batch)
                yield view
                if await view.finished():
                    return
