"""Stopping background tasks for sure (core/tasks.py), also a task that
swallows a cancellation as redis-py's timed reads can."""

from __future__ import annotations

import asyncio

from core.tasks import cancel_and_wait
from tests.support.deadlines import HANG_SECONDS


async def test_a_task_that_swallows_one_cancel_is_cancelled_again() -> None:
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.set()  # as a read whose timeout fired at the same moment
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task], recancel_seconds=0.01), HANG_SECONDS)
    assert swallowed.is_set()
    assert task.cancelled()


async def test_ended_tasks_and_errors_do_not_stop_the_others() -> None:
    async def fails() -> None:
        raise RuntimeError("broken")

    async def sleeps() -> None:
        await asyncio.sleep(3600)

    failed = asyncio.create_task(fails())
    await asyncio.sleep(0)
    sleeping = asyncio.create_task(sleeps())
    await asyncio.wait_for(cancel_and_wait([failed, sleeping]), HANG_SECONDS)
    assert sleeping.cancelled()
    assert isinstance(failed.exception(), RuntimeError)
