"""The runner's stream pump (sandbox/runner/child.py: StreamPump).

Each of stdout and stderr is capped on its own: what fits is framed in
arrival order, the rest is dropped and the stream flagged truncated. Checked
one byte under, at and over the cap, and across several writes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sandbox.runner import protocol as p
from sandbox.runner.child import StreamPump
from tests.support.runner_local import read_frames

CAP = 50
CHUNK_BYTES = 16 * 1024  # the most the pump holds back before it sends a chunk
FLUSH_DELAY = 0.005  # how long it holds a partial chunk back
OUT, ERR = p.KIND_STDOUT, p.KIND_STDERR


class Pumped:
    """A pump writing to a file, and what it has written so far."""

    def __init__(self, path: Path, cap: int = CAP) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.pump = StreamPump(p.FdFrameWriter(self.fd), cap)

    def frames(self) -> list[tuple[int, bytes]]:
        return [(frame.kind, frame.payload) for frame in read_frames(self.path)]

    def close(self) -> list[tuple[int, bytes]]:
        self.pump.flush()
        os.close(self.fd)
        return self.frames()


@pytest.fixture
def pumped(tmp_path: Path) -> Pumped:
    return Pumped(tmp_path / "stream")


def test_nothing_written_is_nothing_sent_and_not_truncated(pumped: Pumped) -> None:
    assert pumped.close() == []
    assert pumped.pump.truncated == {OUT: False, ERR: False}
    assert pumped.pump.flush_due() is None


@pytest.mark.parametrize("size", [CAP - 1, CAP])
@pytest.mark.parametrize("kind", [OUT, ERR])
def test_output_up_to_the_cap_is_sent_whole(pumped: Pumped, kind: int, size: int) -> None:
    pumped.pump.add(kind, b"x" * size)
    assert pumped.close() == [(kind, b"x" * size)]
    assert pumped.pump.truncated == {OUT: False, ERR: False}


@pytest.mark.parametrize("kind", [OUT, ERR])
def test_output_one_byte_over_the_cap_is_cut_and_flagged(pumped: Pumped, kind: int) -> None:
    pumped.pump.add(kind, b"x" * (CAP + 1))
    assert pumped.close() == [(kind, b"x" * CAP)]
    assert pumped.pump.truncated == {OUT: kind == OUT, ERR: kind == ERR}


def test_the_cap_counts_every_write_and_nothing_passes_it_later(pumped: Pumped) -> None:
    pumped.pump.add(OUT, b"a" * (CAP - 1))
    assert pumped.pump.truncated[OUT] is False
    pumped.pump.add(OUT, b"bc")
    assert pumped.pump.truncated[OUT] is True
    pumped.pump.add(OUT, b"d")
    pumped.pump.add(OUT, b"")
    assert pumped.close() == [(OUT, b"a" * (CAP - 1) + b"b")]


def test_a_write_that_ends_exactly_at_the_cap_is_not_truncated(pumped: Pumped) -> None:
    pumped.pump.add(OUT, b"a" * (CAP - 1))
    pumped.pump.add(OUT, b"b")
    assert pumped.pump.truncated[OUT] is False
    pumped.pump.add(OUT, b"c")
    assert pumped.pump.truncated[OUT] is True
    assert pumped.close() == [(OUT, b"a" * (CAP - 1) + b"b")]


def test_each_stream_has_its_own_cap(pumped: Pumped) -> None:
    pumped.pump.add(OUT, b"o" * (CAP + 1))
    pumped.pump.add(ERR, b"e" * CAP)
    assert pumped.close() == [(OUT, b"o" * CAP), (ERR, b"e" * CAP)]
    assert pumped.pump.truncated == {OUT: True, ERR: False}


def test_a_cap_of_zero_sends_nothing(tmp_path: Path) -> None:
    pumped = Pumped(tmp_path / "stream", cap=0)
    pumped.pump.add(ERR, b"e")
    assert pumped.close() == []
    assert pumped.pump.truncated == {OUT: False, ERR: True}


def test_a_negative_cap_sends_nothing_as_a_cap_of_zero(tmp_path: Path) -> None:
    pumped = Pumped(tmp_path / "stream", cap=-2)
    pumped.pump.add(OUT, b"abc")
    assert pumped.close() == []
    assert pumped.pump.truncated == {OUT: True, ERR: False}


def test_the_interleaving_of_the_streams_is_kept(pumped: Pumped) -> None:
    for kind, data in [(OUT, b"1"), (OUT, b"2"), (ERR, b"3"), (OUT, b"4"), (ERR, b"5")]:
        pumped.pump.add(kind, data)
    assert pumped.close() == [(OUT, b"12"), (ERR, b"3"), (OUT, b"4"), (ERR, b"5")]


@pytest.mark.parametrize("size", [CHUNK_BYTES - 1, CHUNK_BYTES, 2 * CHUNK_BYTES + 1])
def test_a_full_chunk_is_sent_at_once_and_the_rest_on_flush(tmp_path: Path, size: int) -> None:
    pumped = Pumped(tmp_path / "stream", cap=10 * CHUNK_BYTES)
    pumped.pump.add(OUT, b"x" * size)
    full, rest = divmod(size, CHUNK_BYTES)
    assert pumped.frames() == [(OUT, b"x" * CHUNK_BYTES)] * full
    tail = [(OUT, b"x" * rest)] if rest else []
    assert pumped.close() == [(OUT, b"x" * CHUNK_BYTES)] * full + tail


def test_a_partial_chunk_is_due_a_flush_delay_after_its_first_byte(pumped: Pumped) -> None:
    before = time.monotonic()
    pumped.pump.add(OUT, b"a")
    after = time.monotonic()
    due = pumped.pump.flush_due()
    assert due is not None
    assert before + FLUSH_DELAY <= due <= after + FLUSH_DELAY
    pumped.pump.add(OUT, b"b")  # joins the pending chunk: the deadline stays
    assert pumped.pump.flush_due() == due
    pumped.pump.flush()
    assert pumped.pump.flush_due() is None
    assert pumped.close() == [(OUT, b"ab")]
