"""Attempts: the row that tries a run again, and the chain of attempts.

An attempt that ends with an outcome its policy retries is followed by a
QUEUED row made here, created in the same transaction as that end, so a
crash between the two cannot lose the retry; its backoff is a `not_before`
time on the row rather than a timer in some process, so it survives a
restart of every worker. Every later attempt points at the first
(`retry_of_id`), and the attempt number orders the chain."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from core.retries import RetryPolicy
from core.statuses import ExecutionStatus
from models.executions import Execution


def next_attempt(
    row: Execution, status: ExecutionStatus, error_code: str | None, now: datetime
) -> Execution | None:
    """The attempt after `row`, which just ended so; None when its policy
    does not retry that ending (or there is no policy, or no attempt left)."""
    policy = RetryPolicy.from_json(row.retry)
    if policy is None or not policy.retries(row.attempt, status, error_code):
        return None
    return Execution(
        id=uuid.uuid4(),
        owner_id=row.owner_id,
        script_id=row.script_id,
        # The same version and input: a retry tries the same run again.
        script_version=row.script_version,
        status=ExecutionStatus.QUEUED,
        input_json=row.input_json,
        timeout_seconds=row.timeout_seconds,
        input_files=list(row.input_files),
        schedule_id=row.schedule_id,
        batch_id=row.batch_id,
        target=row.target,
        waits_for_schedule=row.waits_for_schedule,
        retry=row.retry,
        attempt=row.attempt + 1,
        retry_of_id=row.retry_of_id or row.id,
        not_before=now + timedelta(seconds=policy.backoff_seconds),
        queued_at=now,
    )


def first_attempt_id(row: Execution) -> str:
    return str(row.retry_of_id or row.id)


async def attempt_after(row: Execution) -> Execution | None:
    return await Execution.get_or_none(retry_of_id=first_attempt_id(row), attempt=row.attempt + 1)


async def first_attempt(row: Execution) -> Execution | None:
    if row.retry_of_id is None:
        return row
    return await Execution.get_or_none(id=row.retry_of_id)


async def last_attempt(row: Execution) -> Execution:
    """The newest attempt of `row`'s chain (`row` itself when none followed)."""
    later = (
        await Execution.filter(retry_of_id=first_attempt_id(row), attempt__gt=row.attempt)
        .order_by("-attempt")
        .first()
    )
    return later or row


def last_attempts(rows: list[Execution]) -> list[Execution]:
    """Of `rows` (whole chains, first attempts in the order wanted), each
    chain's last attempt, in the place of its first."""
    last: dict[str, Execution] = {}
    for row in rows:
        key = first_attempt_id(row)
        if key not in last or row.attempt > last[key].attempt:
            last[key] = row
    return [last[str(row.id)] for row in rows if row.retry_of_id is None and str(row.id) in last]
