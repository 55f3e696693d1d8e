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

from models.executions import ExecutionOutput
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
    # Writing a batch and deleting an ended run's rows never interleave, so
    # no batch lands after the delete of its run.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _due: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, event: ExecutionEvent) -> None:
        """Called for each output event, right after it is published."""
        if event.stream is None or not event.data:
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
            batch = [row for rows in self._unsaved.values() for row in rows]
            if not batch:
                return 0
            taken, self._unsaved = self._unsaved, {}
            self._unsaved_bytes = 0
            self._saved.update(taken)
            try:
                await ExecutionOutput.bulk_create(batch)
            except Exception:
                # Keep them, in order, ahead of anything recorded meanwhile.
                for execution_id, rows in taken.items():
                    self._unsaved[execution_id] = rows + self._unsaved.get(execution_id, [])
                self._unsaved_bytes += sum(len(row.data) for row in batch)
                raise
            return len(batch)

    async def forget(self, execution_id: str) -> None:
        """The execution ended and its row holds all its output: drop what
        is waiting and delete its batches."""
        if execution_id not in self._unsaved and execution_id not in self._saved:
            return  # the common case: a run shorter than one interval
        async with self._lock:
            dropped = self._unsaved.pop(execution_id, [])
            self._unsaved_bytes -= sum(len(row.data) for row in dropped)
            if execution_id in self._saved:
                self._saved.discard(execution_id)
                await ExecutionOutput.filter(execution_id=execution_id).delete()
