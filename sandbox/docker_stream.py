"""Docker's multiplexed attach stream (no TTY): 8-byte headers per chunk.

Header: stream id (1 byte: 0 stdin, 1 stdout, 2 stderr), 3 zero bytes, then the
payload length as a big-endian uint32. The engine itself writes these headers,
so their lengths are trusted only up to ``max_chunk``.
"""

from __future__ import annotations

import struct

STDOUT = 1
STDERR = 2
_HEADER = struct.Struct(">BxxxI")


class StreamFormatError(Exception):
    """The attach stream is not in Docker's multiplexed format."""


class DockerStreamDemuxer:
    def __init__(self, max_chunk: int = 4 * 2**20) -> None:
        self._buffer = bytearray()
        self._max_chunk = max_chunk

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        chunks: list[tuple[int, bytes]] = []
        while len(self._buffer) >= _HEADER.size:
            stream, length = _HEADER.unpack_from(self._buffer)
            if stream not in (0, STDOUT, STDERR) or length > self._max_chunk:
                raise StreamFormatError(f"bad stream header (stream {stream}, length {length})")
            end = _HEADER.size + length
            if len(self._buffer) < end:
                break
            chunks.append((stream, bytes(self._buffer[_HEADER.size : end])))
            del self._buffer[:end]
        return chunks
