"""The host's side of one job: send the bundle, read the runner's report.

The runner is not trusted: every frame is bounded, every name re-checked, and
every cap (output per stream, result, artifacts, total bytes read) enforced
here again, so a replaced or confused runner cannot flood the host.
"""

from __future__ import annotations

import asyncio
import codecs
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from core.limits import SandboxLimits
from core.usage import ResourceUsage
from sandbox.docker_stream import STDERR, STDOUT, DockerStreamDemuxer
from sandbox.job import Artifact, OutputChunk, SandboxJob, Status
from sandbox.runner import protocol as p

OnOutput = Callable[[OutputChunk], Awaitable[None]]

STATUSES: dict[str, Status] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "timed_out": "timed_out",
    "cancelled": "cancelled",
}
DIAGNOSTICS_TAIL = 8192
MAX_MESSAGE = 4096
MAX_REJECTED = 100
FRAMING_ALLOWANCE = 4 * 2**20  # headers, JSON messages and slack beyond the capped bytes


class RunnerMisbehaved(Exception):
    """The runner broke the protocol or its byte budget."""


class RunnerVanished(Exception):
    """The attach stream ended before the runner's final message."""


def bundle_frames(job: SandboxJob, key: bytes) -> list[bytes]:
    """The job as frames for the runner's stdin; ``key`` authenticates its reply."""
    limits = job.limits
    frames = [
        p.encode_json(
            {
                "type": p.Msg.JOB,
                "v": p.VERSION,
                "key": key.hex(),
                "language": job.language,
                "env": dict(job.env),
                "import_path": list(job.import_path),
                "main_path": job.main_path,
                "http": job.http_socket_dir is not None,
                "limits": {
                    "timeout_seconds": limits.timeout_seconds,
                    "output_bytes_per_stream": limits.output_bytes_per_stream,
                    "result_bytes": limits.result_bytes,
                    "artifact_max_count": limits.artifact_max_count,
                    "artifact_max_total_bytes": limits.artifact_max_total_bytes,
                },
            }
        )
    ]
    frames += p.encode_blob({"type": p.Msg.SCRIPT}, job.script)
    frames += p.encode_blob({"type": p.Msg.INPUT}, job.input_json)
    for name, data in job.files:
        frames += p.encode_blob({"type": p.Msg.FILE, "name": name}, data)
    for name, data in job.library:
        frames += p.encode_blob({"type": p.Msg.LIB, "name": name}, data)
    frames.append(p.encode_json({"type": p.Msg.START}))
    return frames


def read_budget(limits: SandboxLimits) -> int:
    """The most bytes an honest runner can send for one job."""
    return (
        2 * limits.output_bytes_per_stream
        + limits.result_bytes
        + limits.artifact_max_total_bytes
        + FRAMING_ALLOWANCE
    )


@dataclass
class RunnerReport:
    """What the runner said, after the host's own checks."""

    status: Status = "failed"
    exit_code: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    result_json: str | None = None
    result_too_large: bool = False
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    artifacts: list[Artifact] = field(default_factory=list)
    rejected_artifacts: list[str] = field(default_factory=list)
    usage: ResourceUsage = field(default_factory=ResourceUsage)
    finished: bool = False


@dataclass
class _Blob:
    kind: Literal["artifact", "result"]
    name: str
    remaining: int
    keep: bool
    data: bytearray = field(default_factory=bytearray)


class Conversation:
    """Reads one job's frames from the container and forwards its output."""

    def __init__(
        self, sock: socket.socket, limits: SandboxLimits, on_output: OnOutput, key: bytes
    ) -> None:
        self._sock = sock
        self._mac = p.StreamMac(key)
        self._limits = limits
        self._on_output = on_output
        self._budget = read_budget(limits)
        self._read = 0
        self._demuxer = DockerStreamDemuxer()
        self._frames = p.FrameDecoder()
        self._diagnostics = bytearray()
        self._decoders = {
            p.KIND_STDOUT: codecs.getincrementaldecoder("utf-8")(errors="replace"),
            p.KIND_STDERR: codecs.getincrementaldecoder("utf-8")(errors="replace"),
        }
        self._forwarded = {p.KIND_STDOUT: 0, p.KIND_STDERR: 0}
        self._blob: _Blob | None = None
        self._artifact_bytes = 0
        self.report = RunnerReport()

    @property
    def diagnostics(self) -> str:
        """The tail of the runner's own stderr, for error messages."""
        return self._diagnostics.decode("utf-8", "replace").strip()

    async def send(self, frames: list[bytes]) -> None:
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(self._sock, b"".join(frames))

    async def run(self) -> RunnerReport:
        """Read until the runner's exit message; raise if the stream ends first."""
        loop = asyncio.get_running_loop()
        while not self.report.finished:
            try:
                data = await loop.sock_recv(self._sock, 65536)
            except OSError as exc:
                raise RunnerVanished(f"attach stream failed: {exc}") from exc
            if not data:
                raise RunnerVanished("the runner's stream ended before its report")
            self._read += len(data)
            if self._read > self._budget:
                raise RunnerMisbehaved(f"the runner sent more than {self._budget} bytes")
            try:
                chunks = self._demuxer.feed(data)
            except Exception as exc:
                raise RunnerMisbehaved(str(exc)) from exc
            for stream, payload in chunks:
                if stream == STDOUT:
                    await self._feed_frames(payload)
                elif stream == STDERR:
                    self._diagnostics += payload
                    del self._diagnostics[:-DIAGNOSTICS_TAIL]
        return self.report

    async def finish_output(self) -> None:
        """Flush a multi-byte character left incomplete at the end of a stream."""
        for kind, decoder in self._decoders.items():
            text = decoder.decode(b"", final=True)
            if text:
                await self._on_output(OutputChunk(_stream_name(kind), text))

    async def _feed_frames(self, payload: bytes) -> None:
        try:
            frames = self._frames.feed(payload)
        except p.ProtocolError as exc:
            raise RunnerMisbehaved(str(exc)) from exc
        for frame in frames:
            if self.report.finished:
                raise RunnerMisbehaved("frames after the exit message")
            if frame.kind in (p.KIND_STDOUT, p.KIND_STDERR):
                self._mac.add(frame.kind, frame.payload)
                await self._output(frame.kind, frame.payload)
            elif frame.kind == p.KIND_DATA:
                self._mac.add(frame.kind, frame.payload)
                self._data(frame.payload)
            else:
                message = _decode(frame.payload)
                # The exit message carries the MAC of everything before it.
                if message["type"] == p.Msg.EXIT and not self._mac.matches(message.get("mac")):
                    raise RunnerMisbehaved(
                        "the output stream failed authentication (bytes were injected)"
                    )
                self._mac.add(frame.kind, frame.payload)
                self._message(message)

    async def _output(self, kind: int, data: bytes) -> None:
        if self._blob is not None:
            raise RunnerMisbehaved("output inside a blob")
        room = self._limits.output_bytes_per_stream - self._forwarded[kind]
        if len(data) > room:
            data = data[: max(room, 0)]
            self._set_truncated(kind)
        if not data:
            return
        self._forwarded[kind] += len(data)
        text = self._decoders[kind].decode(data)
        if text:
            await self._on_output(OutputChunk(_stream_name(kind), text))

    def _set_truncated(self, kind: int) -> None:
        if kind == p.KIND_STDOUT:
            self.report.stdout_truncated = True
        else:
            self.report.stderr_truncated = True

    def _data(self, data: bytes) -> None:
        blob = self._blob
        if blob is None or len(data) > blob.remaining:
            raise RunnerMisbehaved("data frame outside an announced blob")
        blob.remaining -= len(data)
        if blob.keep:
            blob.data += data
        if blob.remaining == 0:
            self._blob = None
            self._blob_done(blob)

    def _message(self, message: dict[str, Any]) -> None:
        if self._blob is not None:
            raise RunnerMisbehaved("message inside a blob")
        kind = message["type"]
        if kind == p.Msg.ARTIFACT:
            self._start_artifact(message)
        elif kind == p.Msg.RESULT:
            size = _size(message)
            too_large = size > self._limits.result_bytes
            self.report.result_too_large = too_large
            self._start_blob(_Blob("result", "", size, keep=not too_large))
        elif kind == p.Msg.EXIT:
            self._exit(message)
        else:
            raise RunnerMisbehaved(f"unexpected message {kind!r}")

    def _start_artifact(self, message: dict[str, Any]) -> None:
        size = _size(message)
        name = message.get("name")
        limits = self._limits
        keep = False
        if not isinstance(name, str) or not p.is_safe_name(name):
            name = p.sanitize_name(str(name))
            self._reject(f"{name} (unsafe name)")
        elif len(self.report.artifacts) >= limits.artifact_max_count:
            self._reject(f"{name} (more than {limits.artifact_max_count} artifacts)")
        elif self._artifact_bytes + size > limits.artifact_max_total_bytes:
            self._reject(
                f"{name} (artifacts over {limits.artifact_max_total_bytes} bytes in total)"
            )
        else:
            keep = True
            self._artifact_bytes += size
        self._start_blob(_Blob("artifact", name, size, keep))

    def _start_blob(self, blob: _Blob) -> None:
        if blob.remaining == 0:
            self._blob_done(blob)
        else:
            self._blob = blob

    def _blob_done(self, blob: _Blob) -> None:
        if not blob.keep:
            return
        if blob.kind == "artifact":
            self.report.artifacts.append(Artifact(blob.name, bytes(blob.data)))
        else:
            try:
                self.report.result_json = blob.data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise RunnerMisbehaved("result is not UTF-8") from exc

    def _reject(self, entry: str) -> None:
        if len(self.report.rejected_artifacts) < MAX_REJECTED:
            self.report.rejected_artifacts.append(entry[:300])

    def _exit(self, message: dict[str, Any]) -> None:
        report = self.report
        status = message.get("status")
        if not isinstance(status, str) or status not in STATUSES:
            raise RunnerMisbehaved(f"unknown status {status!r}")
        report.status = STATUSES[status]
        exit_code = message.get("exit_code")
        report.exit_code = exit_code if isinstance(exit_code, int) else None
        report.error_code = _text(message.get("error_code"), 64)
        report.error_message = _text(message.get("error_message"), MAX_MESSAGE)
        report.stdout_truncated |= message.get("stdout_truncated") is True
        report.stderr_truncated |= message.get("stderr_truncated") is True
        rejected = message.get("rejected_artifacts")
        if isinstance(rejected, list):
            for entry in rejected:
                if isinstance(entry, str):
                    self._reject(entry)
        report.usage = _usage(message.get("usage"))
        report.finished = True


def _decode(payload: bytes) -> dict[str, Any]:
    try:
        return p.decode_json(payload)
    except p.ProtocolError as exc:
        raise RunnerMisbehaved(str(exc)) from exc


def _size(message: dict[str, Any]) -> int:
    size = message.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RunnerMisbehaved(f"{message['type']} without a valid size")
    return size


# Far above anything a container here can use or run for: a larger number
# is not a measurement.
MAX_REPORTED_BYTES = 2**50
MAX_REPORTED_SECONDS = 10.0**7


def _usage(reported: object) -> ResourceUsage:
    """The runner's measurement, each number checked on its own: one that
    is missing, of the wrong type, negative or absurd is unknown (None)."""
    if not isinstance(reported, dict):
        return ResourceUsage()
    memory = reported.get("peak_memory_bytes")
    return ResourceUsage(
        peak_memory_bytes=(
            memory
            if isinstance(memory, int)
            and not isinstance(memory, bool)
            and 0 <= memory <= MAX_REPORTED_BYTES
            else None
        ),
        cpu_user_seconds=_seconds(reported.get("cpu_user_seconds")),
        cpu_system_seconds=_seconds(reported.get("cpu_system_seconds")),
        wall_seconds=_seconds(reported.get("wall_seconds")),
    )


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    # NaN fails both comparisons.
    return float(value) if 0 <= value <= MAX_REPORTED_SECONDS else None


def _text(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _stream_name(kind: int) -> Literal["stdout", "stderr"]:
    return "stdout" if kind == p.KIND_STDOUT else "stderr"
