"""The output a running (or lost) execution has written to the database so far.

While a run goes, its worker writes what it published in batches
(worker/output_journal.py): rows of `execution_output`, each the output
events `seq`..`last_seq` of one stream. When the run ends the execution row
gets its full output and these rows go. Readers here join them back: an API
process showing a run another process is running, and the recovery of a
lost worker's runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.executions import ExecutionOutput
from services.events import Stream


@dataclass(frozen=True)
class PersistedOutput:
    """What the database holds of one execution's output."""

    stdout: str = ""
    stderr: str = ""
    last_seq: int | None = None


@dataclass(frozen=True)
class OutputPiece:
    """Output events `first_seq`..`last_seq` of one stream."""

    first_seq: int
    last_seq: int
    stream: Stream
    data: str


async def persisted_output(execution_id: str) -> PersistedOutput:
    """The output batches of a running (or lost) execution, joined per stream."""
    return joined_output(await persisted_pieces(execution_id))


async def persisted_pieces(execution_id: str) -> list[OutputPiece]:
    rows = await ExecutionOutput.filter(execution_id=execution_id).order_by("seq")
    return [
        OutputPiece(
            row.seq, row.last_seq, "stderr" if row.stream == "stderr" else "stdout", row.data
        )
        for row in rows
    ]


def joined_output(pieces: list[OutputPiece]) -> PersistedOutput:
    """Pieces in seq order, joined per stream."""
    if not pieces:
        return PersistedOutput()
    parts: dict[Stream, list[str]] = {"stdout": [], "stderr": []}
    for piece in sorted(pieces, key=lambda p: p.first_seq):
        parts[piece.stream].append(piece.data)
    return PersistedOutput(
        "".join(parts["stdout"]),
        "".join(parts["stderr"]),
        max(piece.last_seq for piece in pieces),
    )


async def delete_persisted_output(execution_id: str) -> None:
    await ExecutionOutput.filter(execution_id=execution_id).delete()
