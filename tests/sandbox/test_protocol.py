"""The wire format and the host's distrust of the runner (no Docker needed).

A fake runner on a socketpair speaks Docker's multiplexed stream to the real
Conversation, so the host-side bounds are tested with bytes no honest runner
would send.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Iterator

import pytest

from core.usage import ResourceUsage
from sandbox import OutputChunk, SandboxLimits
from sandbox.conversation import Conversation, RunnerMisbehaved, RunnerVanished
from sandbox.docker_stream import DockerStreamDemuxer, StreamFormatError
from sandbox.runner import protocol as p


def docker_chunk(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(data)) + data


def test_frames_round_trip_in_pieces() -> None:
    frames = [p.encode_json({"type": "x", "n": 1}), *p.encode_blob({"type": "b"}, b"z" * 300_000)]
    wire = b"".join(frames)
    decoder = p.FrameDecoder()
    got = []
    for i in range(0, len(wire), 777):
        got += decoder.feed(wire[i : i + 777])
    assert [f.kind for f in got] == [p.KIND_JSON, p.KIND_JSON, p.KIND_DATA, p.KIND_DATA]
    assert json.loads(got[1].payload) == {"type": "b", "size": 300_000}
    assert b"".join(f.payload for f in got[2:]) == b"z" * 300_000
    assert decoder.pending == 0


def test_decoder_rejects_oversized_and_unknown_frames_before_buffering() -> None:
    with pytest.raises(p.ProtocolError):
        p.FrameDecoder().feed(struct.pack(">IB", p.MAX_PAYLOAD + 1, p.KIND_DATA))
    with pytest.raises(p.ProtocolError):
        p.FrameDecoder().feed(struct.pack(">IB", 1, ord("Z")) + b"x")
    with pytest.raises(p.ProtocolError):
        p.encode(p.KIND_DATA, b"x" * (p.MAX_PAYLOAD + 1))


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("report.csv", "report.csv"),
        ("../../etc/passwd", "etc/passwd"),
        ("/abs/path", "abs/path"),
        ("a/./b//c", "a/b/c"),
        (".hidden", "_hidden"),
        ("wéird name?.txt", "w_ird_name_.txt"),
        ("..", "_"),
        ("", "_"),
        ("x" * 300, "x" * 255),
    ],
)
def test_sanitize_name(name: str, clean: str) -> None:
    assert p.sanitize_name(name) == clean
    assert p.is_safe_name(clean)


def test_demuxer_splits_streams_across_reads() -> None:
    wire = docker_chunk(1, b"hello") + docker_chunk(2, b"oops") + docker_chunk(1, b"!")
    demuxer = DockerStreamDemuxer()
    got = []
    for byte in wire:
        got += demuxer.feed(bytes([byte]))
    assert got == [(1, b"hello"), (2, b"oops"), (1, b"!")]
    with pytest.raises(StreamFormatError):
        DockerStreamDemuxer().feed(struct.pack(">BxxxI", 7, 1) + b"x")


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    host, runner = socket.socketpair()
    host.setblocking(False)
    yield host, runner
    host.close()
    runner.close()


async def converse(
    host: socket.socket, runner: socket.socket, wire: bytes, limits: SandboxLimits
) -> tuple[Conversation, list[OutputChunk]]:
    chunks: list[OutputChunk] = []

    async def on_output(chunk: OutputChunk) -> None:
        chunks.append(chunk)

    talk = Conversation(host, limits, on_output, KEY)
    loop = asyncio.get_running_loop()

    def feed() -> None:
        try:
            runner.sendall(wire)
            runner.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the host stopped reading, as it should

    sender = loop.run_in_executor(None, feed)
    try:
        await talk.run()
    finally:
        host.close()
        await sender
    return talk, chunks


KEY = b"k" * 32
EXIT_OK = {"type": "exit", "status": "succeeded", "exit_code": 0}


def stdout_frames(*frames: bytes, exit_message: dict[str, object] | None = EXIT_OK) -> bytes:
    """The runner's frames as Docker sends them, closed by an authenticated exit."""
    mac = p.StreamMac(KEY)
    for frame in p.FrameDecoder().feed(b"".join(frames)):
        mac.add(frame.kind, frame.payload)
    tail = [p.encode_json({**exit_message, "mac": mac.hexdigest()})] if exit_message else []
    return docker_chunk(1, b"".join([*frames, *tail]))


async def test_host_caps_output_even_when_the_runner_does_not(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    wire = stdout_frames(
        p.encode(p.KIND_STDOUT, "é".encode() * 600), p.encode(p.KIND_STDERR, b"e" * 10)
    )
    talk, chunks = await converse(*pair, wire, SandboxLimits(output_bytes_per_stream=1001))
    text = "".join(c.data for c in chunks if c.stream == "stdout")
    await talk.finish_output()
    assert talk.report.stdout_truncated and not talk.report.stderr_truncated
    assert text.startswith("é" * 500)


async def test_host_refuses_a_flood(pair: tuple[socket.socket, socket.socket]) -> None:
    limits = SandboxLimits(
        output_bytes_per_stream=1000, result_bytes=1000, artifact_max_total_bytes=1000
    )
    flood = p.encode(p.KIND_STDOUT, b"x" * 60_000)
    wire = docker_chunk(1, flood) * 200  # 12 MB, far past the byte budget
    with pytest.raises(RunnerMisbehaved, match="more than"):
        await converse(*pair, wire, limits)


async def test_host_rejects_unsafe_artifact_names_and_stray_data(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    wire = stdout_frames(
        *p.encode_blob({"type": "artifact", "name": "../../etc/cron.d/x"}, b"evil"),
        *p.encode_blob({"type": "artifact", "name": "fine.txt"}, b"good"),
    )
    talk, _ = await converse(*pair, wire, SandboxLimits())
    assert [(a.name, a.data) for a in talk.report.artifacts] == [("fine.txt", b"good")]
    assert talk.report.rejected_artifacts == ["etc/cron.d/x (unsafe name)"]


async def test_host_rejects_data_outside_a_blob(pair: tuple[socket.socket, socket.socket]) -> None:
    wire = stdout_frames(p.encode(p.KIND_DATA, b"??"))
    with pytest.raises(RunnerMisbehaved):
        await converse(*pair, wire, SandboxLimits())


async def test_stream_ending_early_is_vanished(pair: tuple[socket.socket, socket.socket]) -> None:
    wire = stdout_frames(p.encode(p.KIND_STDOUT, b"partial"), exit_message=None)
    with pytest.raises(RunnerVanished):
        await converse(*pair, wire, SandboxLimits())


async def test_host_rejects_an_unauthenticated_stream(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    honest = stdout_frames(p.encode(p.KIND_STDOUT, b"hello"))
    injected = docker_chunk(1, p.encode(p.KIND_STDOUT, b"forged")) + honest
    with pytest.raises(RunnerMisbehaved, match="authentication"):
        await converse(*pair, injected, SandboxLimits())


async def test_host_keeps_only_plausible_usage_numbers(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """The runner's measurement is checked number by number: what is not a
    plausible measurement becomes unknown, never an error or a guess."""
    usage = {
        "peak_memory_bytes": True,  # a bool is not a count
        "cpu_user_seconds": 0.25,
        "cpu_system_seconds": -1.0,
        "wall_seconds": 1e300,
    }
    wire = stdout_frames(exit_message={**EXIT_OK, "usage": usage})
    talk, _ = await converse(*pair, wire, SandboxLimits())
    assert talk.report.usage == ResourceUsage(cpu_user_seconds=0.25)


async def test_host_reads_a_runner_without_usage_as_unknown(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    talk, _ = await converse(*pair, stdout_frames(), SandboxLimits())
    assert talk.report.finished
    assert talk.report.usage == ResourceUsage()
