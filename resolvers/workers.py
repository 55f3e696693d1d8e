"""Workers in GraphQL: the fleet (admins) and a run on every worker of a tag.
Thin: check who asks, call the worker and batch services, shape the answer."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.batches import BatchType
from resolvers.context import Context
from resolvers.tree import script_argument
from services.workers import WorkerState, fleet


@strawberry.type(name="Worker")
class WorkerType:
    name: str
    tags: list[str] = strawberry.field(description="Its own name first, then its configured tags.")
    last_heartbeat_at: datetime
    running: int = strawberry.field(description="Executions it runs now.")
    concurrency: int = strawberry.field(description="Executions it runs at most at once.")

    @classmethod
    def of(cls, state: WorkerState) -> WorkerType:
        return cls(
            name=state.name,
            tags=state.tags,
            last_heartbeat_at=state.last_heartbeat_at,
            running=state.running,
            concurrency=state.concurrency,
        )


@strawberry.type
class WorkerQuery:
    @strawberry.field(description="Admins: the live workers, by name.")
    async def workers(self, info: Info[Context, None]) -> list[WorkerType]:
        caller = await info.context.caller()
        states = await fleet(caller, info.context.services.settings)
        return [WorkerType.of(state) for state in states]


@strawberry.type
class WorkerMutation:
    @strawberry.mutation(
        description="Run the script once on every live worker carrying `tag`, as a batch "
        "whose executions each name their worker (`target`). NO_LIVE_WORKER when none does."
    )
    async def run_on_workers(
        self,
        info: Info[Context, None],
        tag: str,
        script_id: strawberry.ID | None = None,
        path: str | None = None,
        input: JSON | None = None,
    ) -> BatchType:
        caller = await info.context.caller()
        script = await script_argument(info, caller, script_id, path)
        batch = await info.context.services.batches.submit_on_workers(caller, script, input, tag)
        return BatchType.answering(batch, info)
