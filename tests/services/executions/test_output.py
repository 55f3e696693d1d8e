"""What a running execution printed so far (services/executions/output.py),
as pure units: the output the bus lacks, and the bus's history read alone
when it holds every event."""

from __future__ import annotations

from core.statuses import ExecutionStatus
from services.events import SEQ_QUEUED, SEQ_RUNNING, ExecutionEvent, InMemoryEventBus, Stream
from services.executions.output import OutputPiece, OutputSoFar, live_output

RUNNING = ExecutionStatus.RUNNING


def piece(seq: int, stream: Stream, data: str, last_seq: int | None = None) -> OutputPiece:
    return OutputPiece(seq, seq if last_seq is None else last_seq, stream, data)


def test_everything_is_missing_from_a_bus_that_carries_nothing() -> None:
    output = OutputSoFar(
        pieces=(
            piece(2, "stdout", "a", last_seq=4),
            piece(5, "stdout", "b"),
            piece(6, "stderr", "c"),
        ),
    )
    # One entry per run of one stream, not one per batch.
    assert output.missing_from_bus() == [("stdout", "ab"), ("stderr", "c")]
    assert (output.stdout, output.stderr) == ("ab", "c")


def test_a_batch_the_bus_carries_any_of_is_not_missing() -> None:
    output = OutputSoFar(
        pieces=(
            piece(2, "stdout", "a", last_seq=4),
            piece(5, "stderr", "b"),
            piece(6, "stderr", "c"),
        ),
        on_bus=frozenset({3, 6}),
    )
    assert output.missing_from_bus() == [("stderr", "b")]


def test_nothing_is_missing_from_a_bus_that_carries_it_all() -> None:
    output = OutputSoFar(pieces=(piece(2, "stdout", "a"),), on_bus=frozenset({2}))
    assert output.missing_from_bus() == []


async def publish(
    bus: InMemoryEventBus, *events: tuple[int, ExecutionStatus, Stream | None, str | None]
) -> None:
    for seq, status, stream, data in events:
        await bus.publish(ExecutionEvent("e", "o", seq, status, stream, data))


async def test_a_complete_history_is_the_output_so_far() -> None:
    """Every event from QUEUED on is there (in any order of arrival): the
    bus alone answers, without the database."""
    bus = InMemoryEventBus()
    await publish(
        bus,
        (SEQ_RUNNING, RUNNING, None, None),  # a worker may claim it before QUEUED is published
        (SEQ_QUEUED, ExecutionStatus.QUEUED, None, None),
        (2, RUNNING, "stdout", "one\n"),
        (3, RUNNING, "stderr", "warn\n"),
        (4, RUNNING, "stdout", "two\n"),
    )
    output = await live_output(bus, "e")
    assert (output.stdout, output.stderr) == ("one\ntwo\n", "warn\n")
    assert output.last_seq == 4
    assert output.on_bus == {2, 3, 4}
    assert output.missing_from_bus() == []
