"""A service's recent output: a bounded ring in the database, and its live
lines on the event bus.

The worker that keeps a service up writes each chunk of output (already
masked and rate-capped: worker/service_output.py) as a row numbered by
`seq`, then announces it on the bus. Readers in any process replay the ring
from the database and follow the bus; a chunk the bus lost or carried out of
order is read from the database instead (a gap in `seq` says so), and a
quiet second reads it anyway, so a reader never misses a line nor shows one
twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

from models.services import Service, ServiceLogChunk
from services.events import ExecutionEventBus

log = logging.getLogger(__name__)

# How often a follower reads the database when the bus is quiet.
FOLLOW_POLL_SECONDS = 1.0
# How many chunks a writer adds between two prunes of the ring.
PRUNE_EVERY = 20
MAX_TAIL_LINES = 10_000


def log_topic(service_id: str) -> str:
    return f"service-logs:{service_id}"


def status_topic(owner_id: str) -> str:
    """Where a change of any service of `owner_id` is announced (its id)."""
    return f"service-owner:{owner_id}"


# Supervisors listen here: a service was started, stopped or restarted.
SUPERVISOR_TOPIC = "services"


async def next_seq(service_id: str) -> int:
    seqs = (
        await ServiceLogChunk.filter(service_id=service_id)
        .order_by("-seq")
        .limit(1)
        .values_list("seq", flat=True)
    )
    return int(str(seqs[0])) + 1 if seqs else 1


async def append(bus: ExecutionEventBus, service_id: str, seq: int, text: str) -> None:
    """Keep one chunk, then tell followers (the database first: a follower
    that sees a gap reads it from there)."""
    await ServiceLogChunk.create(service_id=service_id, seq=seq, lines=text.count("\n"), text=text)
    await bus.announce(log_topic(service_id), json.dumps({"seq": seq, "text": text}))


async def prune(service_id: str, keep_lines: int) -> None:
    """Delete the chunks older than those that hold the last `keep_lines` lines."""
    counted = 0
    rows = (
        await ServiceLogChunk.filter(service_id=service_id)
        .order_by("-seq")
        .values_list("seq", "lines")
    )
    for seq, lines in rows:
        counted += int(lines)
        if counted >= keep_lines:
            await ServiceLogChunk.filter(service_id=service_id, seq__lt=seq).delete()
            return


async def tail(service_id: str, lines: int) -> str:
    """The last `lines` lines of output kept (an unfinished last line counts)."""
    text, _ = await _tail(service_id, lines)
    return text


async def _tail(service_id: str, lines: int) -> tuple[str, int]:
    """The tail and the seq of its last chunk (0: none yet)."""
    lines = max(0, min(lines, MAX_TAIL_LINES))
    chunks: list[str] = []
    counted = 0
    last_seq = 0
    query = ServiceLogChunk.filter(service_id=service_id).order_by("-seq")
    for seq, count, text in await query.values_list("seq", "lines", "text"):
        last_seq = max(last_seq, int(seq))
        if lines == 0:
            break
        chunks.append(str(text))
        counted += int(count)
        if counted > lines:
            break
    joined = "".join(reversed(chunks))
    if lines == 0 or not joined:
        return "", last_seq
    kept = joined.splitlines(keepends=True)[-lines:]
    return "".join(kept), last_seq


async def follow(bus: ExecutionEventBus, service_id: str, replay_lines: int) -> AsyncIterator[str]:
    """The last `replay_lines` lines, then every chunk as it is printed,
    until the service is deleted."""
    live: asyncio.Queue[tuple[int, str]] = asyncio.Queue(1000)
    listener = asyncio.create_task(_listen(bus, service_id, live))
    try:
        # Listening first, then reading: a chunk printed in between comes
        # twice at most, and its seq drops the second one.
        await asyncio.sleep(0)
        text, last = await _tail(service_id, replay_lines)
        if text:
            yield text
        while True:
            try:
                seq, text = await asyncio.wait_for(live.get(), FOLLOW_POLL_SECONDS)
            except TimeoutError:
                seq, text = -1, ""
            if seq == last + 1:
                last = seq
                yield text
                continue
            if 0 <= seq <= last:
                continue
            # A gap, a lost chunk or a quiet second: the database knows.
            if not await Service.exists(id=service_id):
                return
            for row_seq, row_text in (
                await ServiceLogChunk.filter(service_id=service_id, seq__gt=last)
                .order_by("seq")
                .values_list("seq", "text")
            ):
                last = int(row_seq)
                yield str(row_text)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener


async def _listen(
    bus: ExecutionEventBus, service_id: str, live: asyncio.Queue[tuple[int, str]]
) -> None:
    """Bus chunks into `live`; a full queue or a broken bus leaves the
    follower to the database."""
    try:
        async for message in bus.announcements(log_topic(service_id)):
            decoded = json.loads(message)
            with contextlib.suppress(asyncio.QueueFull):
                live.put_nowait((int(decoded["seq"]), str(decoded["text"])))
    except Exception as exc:
        log.info("service logs of %s follow the database only: %s", service_id, exc)
