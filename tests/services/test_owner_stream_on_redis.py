"""An owner's events on the Redis bus (what `myExecutions` and batches
follow when API processes and workers are apart), against the suite's Redis
server (`make test` starts it): the owner's stream keeps its newest entries only, and a reader that
falls further behind than that ends with SubscriberTooSlow, as an
in-process subscriber does, instead of skipping the trimmed events unseen."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator

import pytest

from core.statuses import ExecutionStatus
from services.events import ExecutionEvent, SubscriberTooSlow
from services.redis_events import RedisEventBus

REDIS_URL = "redis://127.0.0.1:6379/0"
CAP = 10  # entries the owner's stream keeps (Redis trims whole nodes: roughly)


@pytest.fixture
async def bus() -> AsyncIterator[RedisEventBus]:
    prefix = f"scriptbox-test-{secrets.token_hex(4)}:"
    redis_bus = RedisEventBus(REDIS_URL, prefix, owner_stream_cap=CAP)
    try:
        yield redis_bus
    finally:
        await redis_bus.close()


def queued(owner_id: str, n: int) -> ExecutionEvent:
    return ExecutionEvent(str(uuid.uuid4()), owner_id, n, ExecutionStatus.QUEUED)


async def test_a_reader_that_keeps_up_sees_every_event_in_order(bus: RedisEventBus) -> None:
    owner = str(uuid.uuid4())
    updates = await bus.subscribe_owner(owner)
    sent = [queued(owner, n) for n in range(3 * CAP)]
    seen = []
    for event in sent:
        await bus.publish(event)
        seen.append(await anext(updates))
    assert [e.execution_id for e in seen] == [e.execution_id for e in sent]


async def test_a_reader_behind_by_more_than_the_stream_keeps_ends_too_slow(
    bus: RedisEventBus,
) -> None:
    owner = str(uuid.uuid4())
    updates = await bus.subscribe_owner(owner)
    # Enough that trimming (by whole nodes of 100) drops the first ones.
    for n in range(1000):
        await bus.publish(queued(owner, n))
    with pytest.raises(SubscriberTooSlow):
        await anext(updates)
