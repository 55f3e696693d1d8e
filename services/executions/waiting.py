"""Why a QUEUED execution is not running yet, told to the person waiting.

`waiting_for` asks each check of `REASONS` in turn and answers the first
reason one gives. A check looks at one row and says why it waits, or None;
a new cause of waiting is one more check in the list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.settings import Settings
from core.statuses import ExecutionStatus
from models.executions import Execution
from services.workers import live_workers_with

ReasonCheck = Callable[[Execution, Settings], Awaitable[str | None]]


async def no_live_worker_with_target(row: Execution, settings: Settings) -> str | None:
    """Its required tag is carried by no live worker: it waits for one to start."""
    if row.target is None or await live_workers_with(settings, row.target):
        return None
    return f"No live worker has the tag '{row.target}'."


REASONS: list[ReasonCheck] = [
    no_live_worker_with_target,
]


async def waiting_for(row: Execution, settings: Settings) -> str | None:
    """The first reason a QUEUED row waits; None when it does not wait (any
    other status) or waits only for a free worker slot."""
    if row.status is not ExecutionStatus.QUEUED:
        return None
    for check in REASONS:
        reason = await check(row, settings)
        if reason is not None:
            return reason
    return None
