"""Rows as cross-process locks: one process at a time resolves a declared set
(a ``DependencySet``) or builds an environment (a ``PythonEnv``).

A process claims a row with a conditional UPDATE on ``claim_seq`` (which
every claim bumps), so of two processes that read the same row only one
wins; the winner refreshes ``heartbeat_at`` while it works, and the others
wait, then take over a row whose heartbeat went stale (its process died).
Every later write by the claimant is conditional on its ``claim_seq`` too: a
process that lost its claim changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from models.dependencies import DependencySet, DependencyStatus, EnvStatus, PythonEnv
from services.dependencies.failures import TRANSIENT_CODES, DependencyFailure

ClaimedRow = DependencySet | PythonEnv


def now() -> datetime:
    return datetime.now(UTC)


async def claim(
    row: ClaimedRow, status: DependencyStatus | EnvStatus, owner: str, **values: Any
) -> bool:
    """Take a row for work, if no one changed it since it was read."""
    at = now()
    claimed = await (
        type(row)
        .filter(id=row.id, claim_seq=row.claim_seq)
        .update(
            status=status,
            claimed_by=owner,
            heartbeat_at=at,
            claim_seq=row.claim_seq + 1,
            updated_at=at,
            **values,
        )
    )
    if claimed:
        row.status, row.claimed_by, row.heartbeat_at = status, owner, at
        row.claim_seq += 1
        for key, value in values.items():
            setattr(row, key, value)
    return bool(claimed)


async def release(row: ClaimedRow, status: DependencyStatus | EnvStatus) -> None:
    """Give a claimed row up (the work was interrupted), for another to take."""
    with contextlib.suppress(Exception):
        await asyncio.shield(
            type(row)
            .filter(id=row.id, claim_seq=row.claim_seq)
            .update(status=status, claimed_by=None, heartbeat_at=None, updated_at=now())
        )


async def record_failure(row: ClaimedRow, failure: DependencyFailure) -> None:
    """The claimed row FAILED, with the failure's code (shown on the script)."""
    status = DependencyStatus.FAILED if isinstance(row, DependencySet) else EnvStatus.FAILED
    await (
        type(row)
        .filter(id=row.id, claim_seq=row.claim_seq)
        .update(
            status=status,
            error_code=failure.code,
            error_message=failure.message[:4000],
            claimed_by=None,
            heartbeat_at=None,
            updated_at=now(),
        )
    )


@contextlib.asynccontextmanager
async def heartbeat(row: ClaimedRow, stale_seconds: float) -> AsyncIterator[None]:
    """Keep a claim alive while the block runs, well within ``stale_seconds``."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(stale_seconds / 4)
            await type(row).filter(id=row.id, claim_seq=row.claim_seq).update(heartbeat_at=now())

    task = asyncio.create_task(beat(), name="deps-heartbeat")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def is_stale(row: ClaimedRow, stale_seconds: float) -> bool:
    """The claim's process has not been heard of for too long: it died."""
    beat = row.heartbeat_at or row.updated_at
    return bool(now() - beat > timedelta(seconds=stale_seconds))


def standing_failure(row: ClaimedRow, retry_failed_seconds: float) -> DependencyFailure | None:
    """The failure a FAILED row still answers with; None when it is to be
    tried again: it has no code (a build was interrupted), a code that says
    nothing about the requirements, or it is old enough."""
    code = row.error_code
    if code is None or code in TRANSIENT_CODES:
        return None
    if now() - row.updated_at > timedelta(seconds=retry_failed_seconds):
        return None
    return DependencyFailure(code, row.error_message or "")
