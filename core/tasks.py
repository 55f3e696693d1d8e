"""Stopping background tasks for sure.

A task can swallow a cancellation: a library that wraps a read in a timeout
(redis-py's pub/sub reads, on Python 3.11) may turn a cancel that lands just
as its timeout fires into that timeout's own error, and its caller's loop
carries on. A shutdown that cancels once and then awaits such a task waits
forever, and whatever the process would have removed on the way out (its warm
sandbox containers) is left behind when it is killed. So a task is cancelled
again until it has ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

RECANCEL_SECONDS = 1.0


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], recancel_seconds: float = RECANCEL_SECONDS
) -> None:
    """Cancel `tasks` and return once every one has ended, cancelling again
    each `recancel_seconds` those that are still running."""
    every = list(tasks)
    pending = {task for task in every if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=recancel_seconds)
    for task in every:
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s ended with an error", task.get_name(), exc_info=task.exception())
