"""The framed protocol between the host and the in-container runner.

One definition for both sides: the host imports it as ``sandbox.runner.protocol`` and
the image ships this very file beside the runner. Stdlib only, and it must run
on Debian bookworm's Python 3.11.

Wire format, both directions: a 5-byte header, then the payload::

    +---------------------------+-----------+------------------+
    | payload length (uint32 BE)| kind (u8) | payload          |
    +---------------------------+-----------+------------------+

Kinds:

* ``J`` JSON: a UTF-8 JSON object with a ``"type"`` key (see ``Msg``).
  A JSON message with a ``"size"`` key announces a blob: exactly that many
  bytes follow in ``D`` frames, before any other ``J`` frame.
* ``D`` data: raw bytes continuing the announced blob.
* ``O`` / ``E``: raw bytes the script wrote to stdout / stderr (runner → host).

Host → runner: ``job``, then the blobs ``script``, ``input``, ``file`` (one per
input file), then ``start``. Runner → host: ``O``/``E`` chunks while the script
runs, then ``artifact`` blobs, an optional ``result`` blob (JSON text), and the
final ``exit`` message; then the runner exits.

Every payload is bounded (``MAX_PAYLOAD``) so neither side can be made to
buffer an unbounded frame.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import struct
from typing import Any, NamedTuple

VERSION = 1

HEADER = struct.Struct(">IB")
MAX_PAYLOAD = 1 << 20  # a frame never carries more than 1 MiB
DATA_CHUNK = 256 * 1024  # blobs are cut into D frames of this size

KIND_JSON = ord("J")
KIND_DATA = ord("D")
KIND_STDOUT = ord("O")
KIND_STDERR = ord("E")
KINDS = frozenset({KIND_JSON, KIND_DATA, KIND_STDOUT, KIND_STDERR})


class Msg:
    """Values of the ``"type"`` key of JSON frames."""

    JOB = "job"
    SCRIPT = "script"
    INPUT = "input"
    FILE = "file"
    LIB = "lib"
    START = "start"
    ARTIFACT = "artifact"
    RESULT = "result"
    EXIT = "exit"


class ProtocolError(Exception):
    """The peer sent something that is not a well-formed frame sequence."""


class Frame(NamedTuple):
    kind: int
    payload: bytes


def encode(kind: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"frame payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return HEADER.pack(len(payload), kind) + payload


def encode_json(message: dict[str, Any]) -> bytes:
    return encode(KIND_JSON, json.dumps(message, separators=(",", ":")).encode())


def encode_blob(message: dict[str, Any], data: bytes) -> list[bytes]:
    """A JSON header announcing ``len(data)`` bytes, then the data in D frames."""
    frames = [encode_json({**message, "size": len(data)})]
    view = memoryview(data)
    for start in range(0, len(data), DATA_CHUNK):
        frames.append(encode(KIND_DATA, bytes(view[start : start + DATA_CHUNK])))
    return frames


def decode_json(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError as exc:
        raise ProtocolError(f"malformed JSON frame: {exc}") from None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise ProtocolError("JSON frame is not an object with a string 'type'")
    return value


class FrameDecoder:
    """Incremental decoder: feed bytes as they arrive, get whole frames out.

    Buffers at most one frame (``MAX_PAYLOAD`` plus a read's worth), and
    rejects unknown kinds and oversized lengths before reading the payload.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self._buffer = bytearray()
        self._max_payload = max_payload

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= HEADER.size:
            length, kind = HEADER.unpack_from(self._buffer)
            if kind not in KINDS:
                raise ProtocolError(f"unknown frame kind {kind}")
            if length > self._max_payload:
                raise ProtocolError(f"frame of {length} bytes exceeds {self._max_payload}")
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            frames.append(Frame(kind, bytes(self._buffer[HEADER.size : end])))
            del self._buffer[:end]
        return frames

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole frame."""
        return len(self._buffer)


class FdFrameReader:
    """Blocking frame reader over a raw file descriptor (the runner's stdin).

    Reads with ``os.read`` rather than a buffered file so the same descriptor
    can later be watched with ``select`` without data hiding in a buffer.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._decoder = FrameDecoder()
        self._ready: list[Frame] = []
        self.eof = False

    def read(self) -> Frame | None:
        """The next frame, or None at end of input."""
        while not self._ready:
            data = os.read(self._fd, 65536)
            if not data:
                self.eof = True
                if self._decoder.pending:
                    raise ProtocolError("input ended inside a frame")
                return None
            self._ready.extend(self._decoder.feed(data))
        return self._ready.pop(0)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class StreamMac:
    """HMAC-SHA256 over every frame of the runner's stream before ``exit``.

    The container's stdout is also held by docker-init (PID 1), whose
    descriptors a process of the same uid can reopen through /proc/1/fd. The
    script could write bytes into the stream that way; it cannot compute this
    MAC, whose per-job key came over stdin before the script existed and lives
    only in the runner's (non-dumpable) memory. The ``exit`` message carries
    the digest; the host recomputes it over what it received.
    """

    def __init__(self, key: bytes) -> None:
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def add(self, kind: int, payload: bytes) -> None:
        self._mac.update(HEADER.pack(len(payload), kind))
        self._mac.update(payload)

    def hexdigest(self) -> str:
        return self._mac.hexdigest()

    def matches(self, digest: object) -> bool:
        return isinstance(digest, str) and hmac.compare_digest(self.hexdigest(), digest)


class FdFrameWriter:
    """Blocking frame writer over a raw file descriptor (the runner's stdout)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.mac: StreamMac | None = None

    def json(self, message: dict[str, Any]) -> None:
        self._write(KIND_JSON, json.dumps(message, separators=(",", ":")).encode())

    def blob(self, message: dict[str, Any], data: bytes) -> None:
        self.json({**message, "size": len(data)})
        view = memoryview(data)
        for start in range(0, len(data), DATA_CHUNK):
            self._write(KIND_DATA, bytes(view[start : start + DATA_CHUNK]))

    def raw(self, kind: int, data: bytes) -> None:
        self._write(kind, data)

    def _write(self, kind: int, payload: bytes) -> None:
        frame = encode(kind, payload)
        if self.mac is not None:
            self.mac.add(kind, payload)
        write_all(self.fd, frame)


# Names of input files and artifacts: one or more path components of safe
# characters, joined by "/", with no empty, "." or ".." component. Both sides
# apply the same rule, and the host re-checks every name the runner sends.
MAX_NAME_LENGTH = 255
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._+-]")


def sanitize_name(name: str) -> str:
    """A safe relative name for ``name``: unsafe characters become ``_``."""
    parts = []
    for part in name.replace("\\", "/").split("/"):
        part = _UNSAFE_CHARS.sub("_", part)
        if part in ("", ".", ".."):
            continue
        if part.startswith("."):
            part = "_" + part[1:]
        parts.append(part)
    cleaned = "/".join(parts) or "_"
    if len(cleaned) > MAX_NAME_LENGTH:
        # Cutting may leave a trailing "/" or "."-component: clean once more.
        return sanitize_name(cleaned[:MAX_NAME_LENGTH])
    return cleaned


def is_safe_name(name: str) -> bool:
    return sanitize_name(name) == name
