"""What a running (or lost) execution has printed so far, whichever process
runs it.

While a run goes, its worker publishes output events on the bus and writes
the same events to the database in batches (worker/output_journal.py): rows
of `execution_output`, each the output events `seq`..`last_seq` of one
stream. When the run ends the execution row gets its full output and these
rows go. Readers here join the two: the bus's history is complete and
current when it holds every event; the batches are what survives a bus that
lost events or a worker that died (up to one batch interval behind).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from models.executions import ExecutionOutput
from services.events import (
    SEQ_QUEUED,
    SEQ_RUNNING,
    EventBusUnavailable,
    ExecutionEvent,
    ExecutionEventBus,
    Stream,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputPiece:
    """Output events `first_seq`..`last_seq` of one stream."""

    first_seq: int
    last_seq: int
    stream: Stream
    data: str


@dataclass(frozen=True)
class OutputSoFar:
    """One execution's output, in seq order, with what of it the bus carries."""

    pieces: tuple[OutputPiece, ...] = ()
    # The seqs of the output events the bus still carries.
    on_bus: frozenset[int] = frozenset()
    # The last seq used by any event of the execution (SEQ_RUNNING at least).
    last_seq: int = SEQ_RUNNING

    def text(self, stream: Stream) -> str:
        return "".join(piece.data for piece in self.pieces if piece.stream == stream)

    @property
    def stdout(self) -> str:
        return self.text("stdout")

    @property
    def stderr(self) -> str:
        return self.text("stderr")

    def missing_from_bus(self) -> list[tuple[Stream, str]]:
        """The output the bus lacks, one entry per run of one stream (not one
        per batch), in order: what a late subscriber must still be shown."""
        missing: list[tuple[Stream, str]] = []
        for piece in self.pieces:
            if self.on_bus.intersection(range(piece.first_seq, piece.last_seq + 1)):
                continue
            if missing and missing[-1][0] == piece.stream:
                missing[-1] = (piece.stream, missing[-1][1] + piece.data)
            else:
                missing.append((piece.stream, piece.data))
        return missing


async def live_output(bus: ExecutionEventBus, execution_id: str) -> OutputSoFar:
    """What a RUNNING execution printed so far: the bus's history alone when
    it holds every event from the first on (no query; the common case), else
    the batches in the database completed by what the bus has."""
    history = await _history(bus, execution_id)
    if history and _complete(history):
        return _from_events(history)
    return await _joined(execution_id, history or [])


async def output_so_far(bus: ExecutionEventBus, execution_id: str) -> OutputSoFar:
    """The batches in the database, completed by what the bus still carries
    (a bus shared by processes, e.g. Redis, outlives a dead worker and may
    hold the last moment the worker had no time to write)."""
    return await _joined(execution_id, await _history(bus, execution_id) or [])


async def persisted_output(execution_id: str) -> OutputSoFar:
    """The batches in the database alone."""
    return await _joined(execution_id, [])


async def delete_persisted_output(execution_id: str) -> None:
    await ExecutionOutput.filter(execution_id=execution_id).delete()


async def _history(bus: ExecutionEventBus, execution_id: str) -> list[ExecutionEvent] | None:
    try:
        return await bus.history(execution_id)
    except EventBusUnavailable as exc:
        log.warning("bus unavailable; output of %s from the database: %s", execution_id, exc)
        return None


def _complete(history: list[ExecutionEvent]) -> bool:
    """Every seq from the first (QUEUED) to the last is there: nothing was
    lost to a bus that was away for a moment."""
    seqs = {event.seq for event in history}
    return seqs == set(range(SEQ_QUEUED, max(seqs) + 1))


def _from_events(history: list[ExecutionEvent]) -> OutputSoFar:
    output = sorted(
        (event for event in history if event.stream is not None and event.data),
        key=lambda event: event.seq,
    )
    return OutputSoFar(
        pieces=tuple(_piece_of(event) for event in output),
        on_bus=frozenset(event.seq for event in output),
        last_seq=max([SEQ_RUNNING, *(event.seq for event in history)]),
    )


async def _joined(execution_id: str, history: list[ExecutionEvent]) -> OutputSoFar:
    pieces = [
        OutputPiece(
            row.seq, row.last_seq, "stderr" if row.stream == "stderr" else "stdout", row.data
        )
        for row in await ExecutionOutput.filter(execution_id=execution_id).order_by("seq")
    ]
    stored_up_to = max([SEQ_RUNNING, *(piece.last_seq for piece in pieces)])
    from_bus = _from_events(history)
    pieces += [piece for piece in from_bus.pieces if piece.first_seq > stored_up_to]
    return OutputSoFar(
        pieces=tuple(sorted(pieces, key=lambda piece: piece.first_seq)),
        on_bus=from_bus.on_bus,
        last_seq=max(stored_up_to, from_bus.last_seq),
    )


def _piece_of(event: ExecutionEvent) -> OutputPiece:
    assert event.stream is not None and event.data is not None
    return OutputPiece(event.seq, event.seq, event.stream, event.data)
