"""Past executions, newest first, a page at a time.

Keyset pagination on (queued_at, id), both descending: a page starts after
the execution whose cursor the caller gives, so pages stay stable while new
executions arrive at the top."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from core.errors import BadUserInput
from core.ids import parse_id
from core.statuses import ExecutionStatus
from models.executions import Execution
from services.access import Caller, get_script, get_visible, visible

MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class ExecutionFilter:
    script_id: str | None = None
    status: ExecutionStatus | None = None
    schedule_id: str | None = None
    batch_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def cursor_of(row: Execution) -> str:
    return base64.urlsafe_b64encode(f"execution:{row.id}".encode()).decode()


def _id_of_cursor(cursor: str) -> str:
    try:
        kind, _, execution_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except ValueError:
        kind, execution_id = "", ""
    if kind != "execution" or not execution_id:
        raise BadUserInput("`after` is not a cursor this API gave out.")
    return execution_id


async def page(
    caller: Caller, where: ExecutionFilter, first: int, after: str | None
) -> list[Execution]:
    """Up to `first` executions the user may see, newest first, after the
    one whose cursor is `after`."""
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"`first` must be between 1 and {MAX_PAGE_SIZE}.")
    query = visible(Execution.all(), caller)
    if where.script_id is not None:
        query = query.filter(script_id=(await get_script(caller, where.script_id)).id)
    if where.status is not None:
        query = query.filter(status=where.status)
    if where.schedule_id is not None:
        query = query.filter(schedule_id=parse_id(where.schedule_id, "Schedule"))
    if where.batch_id is not None:
        query = query.filter(batch_id=parse_id(where.batch_id, "Batch"))
    if where.since is not None:
        query = query.filter(queued_at__gte=where.since)
    if where.until is not None:
        query = query.filter(queued_at__lt=where.until)
    if after is not None:
        last = await get_visible(Execution, caller, _id_of_cursor(after), "Execution")
        query = query.filter(
            Q(queued_at__lt=last.queued_at) | Q(queued_at=last.queued_at, id__lt=last.id)
        )
    return await query.order_by("-queued_at", "-id").limit(first)
