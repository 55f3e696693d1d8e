"""One run's output on its way out: masked, coalesced into events, published
on the bus, journalled to the database, and kept whole for the row.

Output is gathered for up to OUTPUT_COALESCE_SECONDS before it is published:
a chatty script makes at most ~20 events a second per stream, whatever its
write pattern, so fan-out cost per subscriber is bounded. Order across the
streams is kept (a change of stream publishes what is gathered first).

What is published, journalled and kept is the same text: already masked (a
tail that may be the start of a secret is held back by the masker until the
next chunk shows what it is) and already cut at the output cap by the
sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from models.executions import Execution
from sandbox import OutputChunk
from services.events import SEQ_RUNNING, ExecutionEvent, ExecutionEventBus, Stream
from worker.masking import OutputMasker
from worker.output_journal import OutputJournal

OUTPUT_COALESCE_SECONDS = 0.05
STREAMS: tuple[Stream, Stream] = ("stdout", "stderr")


class RunOutput:
    def __init__(self, row: Execution, bus: ExecutionEventBus, journal: OutputJournal) -> None:
        self._row = row
        self._bus = bus
        self._journal = journal
        # The seq of the next event: output, then (once the run ends) the terminal one.
        self.next_seq = SEQ_RUNNING + 1
        self._shown: dict[Stream, list[str]] = {stream: [] for stream in STREAMS}
        self._maskers: dict[Stream, OutputMasker] = {}
        self._pending: list[str] = []
        self._pending_stream: Stream | None = None
        self._flush_task: asyncio.Task[None] | None = None
        # Held while an output event is numbered and published: a flush still
        # in flight when the run ends must land on the bus before the terminal
        # event (two publishes on two connections may otherwise arrive in
        # either order, and a subscriber stops at the terminal event).
        self._publish_lock = asyncio.Lock()

    def hide(self, secrets: Iterable[str]) -> None:
        """Mask these values in everything shown from now on."""
        values = list(secrets)
        self._maskers = {stream: OutputMasker(values) for stream in STREAMS}

    def mask(self, text: str) -> str:
        """`text` (say, an error message) with the secrets masked."""
        masker = self._maskers.get("stdout")
        return masker.mask(text) if masker else text

    def text(self, stream: Stream) -> str:
        """Everything shown of one stream so far."""
        return "".join(self._shown[stream])

    async def feed(self, chunk: OutputChunk) -> None:
        """The sandbox's output callback."""
        masker = self._maskers.get(chunk.stream)
        await self._show(chunk.stream, masker.feed(chunk.data) if masker else chunk.data)

    async def finish(self) -> None:
        """The output ended: show what the maskers held back, and publish the rest."""
        for stream, masker in self._maskers.items():
            await self._show(stream, masker.flush())
        await self.flush()

    async def flush(self) -> None:
        """Publish what is gathered now."""
        task, self._flush_task = self._flush_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        stream, self._pending_stream = self._pending_stream, None
        shown = "".join(self._pending)
        self._pending.clear()
        async with self._publish_lock:
            if stream is None or not shown:
                return  # still waited for a publish in flight (see _publish_lock)
            event = ExecutionEvent.of(self._row, self.next_seq, stream=stream, data=shown)
            self.next_seq += 1
            await self._bus.publish(event)
            # The database gets exactly the events subscribers get, a little later.
            self._journal.record(event)

    async def _show(self, stream: Stream, shown: str) -> None:
        if not shown:
            return
        self._shown[stream].append(shown)
        if self._pending_stream is not None and self._pending_stream != stream:
            await self.flush()
        self._pending_stream = stream
        self._pending.append(shown)
        if self._flush_task is None:
            self._flush_task = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(OUTPUT_COALESCE_SECONDS)
        self._flush_task = None
        await self.flush()
