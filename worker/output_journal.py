"""Output written to the database while a run is going, in batches.

The worker publishes output to the event bus about every 50 ms; keeping it
only in memory until the run ends would lose everything a run printed when
its process dies. The journal records each published output event and writes
what is new for *all* runs of this worker in one multi-row INSERT every
PERSIST_INTERVAL_SECONDS (earlier when PERSIST_EARLY_BYTES are waiting). So a
crash loses at most the last interval, and the cost is at most one INSERT per
interval per worker process, whatever the number of runs; a run that ends
before its output was due writes no batch at all (the final row update
carries everything).

What is journalled is exactly what was published: already masked (a secret
that may still be completing is held back by the masker, so it is never
published or journalled unmasked) and already cut at the output cap by the
sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from tortoise.exceptions import IntegrityError

from models.executions import Execution, ExecutionOutput
from services.events import ExecutionEvent

log = logging.getLogger(__name__)

PERSIST_INTERVAL_SECONDS = 0.5
PERSIST_EARLY_BYTES = 256 * 1024


@dataclass
class OutputJournal:
    interval: float = PERSIST_INTERVAL_SECONDS
    early_bytes: int = PERSIST_EARLY_BYTES
    _unsaved: dict[str, list[ExecutionOutput]] = field(default_factory=dict)
    _unsaved_bytes: int = 0
    # Executions with rows in the table, to be deleted when they end.
    _saved: set[str] = field(default_factory=set)
    # Executions found deleted while they ran: their output is not kept.
    _gone: set[str] = field(default_factory=set)
    # Writing a batch and deleting an ended run's rows never interleave, so
    # no batch lands after the delete of its run.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _due: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, event: ExecutionEvent) -> None:
        """Called for each output event, right after it is published."""
        if event.stream is None or not event.data or event.execution_id in self._gone:
            return
        rows = self._unsaved.setdefault(event.execution_id, [])
        if rows and rows[-1].stream == event.stream and rows[-1].last_seq == event.seq - 1:
            # One row per run of one stream in a batch, not one per event.
            rows[-1].data += event.data
            rows[-1].last_seq = event.seq
        else:
            rows.append(
                ExecutionOutput(
                    execution_id=event.execution_id,
                    seq=event.seq,
                    last_seq=event.seq,
                    stream=event.stream,
                    data=event.data,
                )
            )
        self._unsaved_bytes += len(event.data)
        if self._unsaved_bytes >= self.early_bytes:
            self._due.set()

    async def run(self) -> None:
        """Write a batch every interval (or sooner when much is waiting)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), self.interval)
            self._due.clear()
            try:
                await self.write_batch()
            except Exception:
                log.exception("writing output batches failed; retrying at the next interval")

    async def write_batch(self) -> int:
        async with self._lock:
            if not self._unsaved:
                return 0
            taken, self._unsaved = self._unsaved, {}
            self._unsaved_bytes = 0
            self._saved.update(taken)
            try:
                return await _insert(taken, self._gone)
            except Exception:
                # Keep them, in order, ahead of anything recorded meanwhile.
                for execution_id, rows in taken.items():
                    self._unsaved[execution_id] = rows + self._unsaved.get(execution_id, [])
                    self._unsaved_bytes += sum(len(row.data) for row in rows)
                raise

    async def forget(self, execution_id: str) -> None:
        """The execution ended and its row holds all its output: drop what
        is waiting and delete its batches."""
        self._gone.discard(execution_id)
        if execution_id not in self._unsaved and execution_id not in self._saved:
            return  # the common case: a run shorter than one interval
        async with self._lock:
            dropped = self._unsaved.pop(execution_id, [])
            self._unsaved_bytes -= sum(len(row.data) for row in dropped)
            if execution_id in self._saved:
                self._saved.discard(execution_id)
                await ExecutionOutput.filter(execution_id=execution_id).delete()


async def _insert(taken: dict[str, list[ExecutionOutput]], gone_ids: set[str]) -> int:
    """One INSERT of every run's rows. A run whose execution row was deleted
    meanwhile (with its script, folder or owner) has nowhere to keep its
    output: its rows are dropped from `taken`, its id added to `gone_ids`, and
    the rest written, rather than the whole batch failing at every interval
    until that run ends."""
    try:
        await ExecutionOutput.bulk_create(_rows(taken))
    except IntegrityError:
        existing = {
            str(execution_id)
            for execution_id in await Execution.filter(id__in=list(taken)).values_list(
                "id", flat=True
            )
        }
        gone = [execution_id for execution_id in taken if execution_id not in existing]
        if not gone:
            raise
        for execution_id in gone:
            del taken[execution_id]
        gone_ids.update(gone)
        log.info("dropped the unsaved output of %d deleted execution(s)", len(gone))
        if taken:
            await ExecutionOutput.bulk_create(_rows(taken))
    return sum(len(rows) for rows in taken.values())


def _rows(taken: dict[str, list[ExecutionOutput]]) -> list[ExecutionOutput]:
    return [row for rows in taken.values() for row in rows]
