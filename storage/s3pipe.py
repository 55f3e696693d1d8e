"""A bounded pipe from async code to the blocking reader of minio's put_object.

put_stream feeds chunks from the event loop; minio reads them in a worker
thread with a plain ``read(n)``. The queue is bounded, so a client that
uploads faster than S3 accepts waits instead of filling memory. All queue
operations run on the event loop; the thread only waits on futures.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

# Fed to the reader thread when the upload must not complete.
_ABORT = object()


class UploadAborted(Exception):
    """Raised inside minio's read loop so that it aborts the multipart upload."""


class ChunkPipe:
    def __init__(self, loop: asyncio.AbstractEventLoop, max_chunks: int) -> None:
        self._loop = loop
        # bytes, None for end of stream, or _ABORT.
        self._queue: asyncio.Queue[object] = asyncio.Queue(max_chunks)
        self._reader_gone = False
        self._pending = memoryview(b"")
        self._done = False

    # -- event-loop side -----------------------------------------------------

    async def send(self, chunk: bytes) -> bool:
        """Queue a chunk; False once the reader has stopped (the upload failed)."""
        if self._reader_gone:
            return False
        await self._queue.put(chunk)
        return not self._reader_gone

    async def finish(self) -> None:
        if not self._reader_gone:
            await self._queue.put(None)

    def abort(self) -> None:
        """Make the reader fail at its next read, wherever it is."""
        self._drain()
        self._queue.put_nowait(_ABORT)

    def _on_reader_gone(self) -> None:
        self._reader_gone = True
        self._drain()  # unblocks a send() waiting for room

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    # -- reader-thread side --------------------------------------------------

    def read(self, size: int = -1) -> bytes:
        """Block until ``size`` bytes (or the end) are here.

        Returning whole parts at once matters: minio appends each read to its
        part buffer, so many small reads would copy a 5 MiB part many times.
        """
        wanted = sys.maxsize if size < 0 else size
        pieces: list[memoryview] = []
        got = 0
        while got < wanted:
            if not self._pending:
                if self._done:
                    break
                item = self._next_item()
                if item is None:
                    self._done = True
                    break
                self._pending = memoryview(item)
            piece = self._pending[: wanted - got]
            self._pending = self._pending[len(piece) :]
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)

    def reader_finished(self) -> None:
        """Called by the thread when put_object returns or raises."""
        # RuntimeError: the loop is closed, nobody is left to feed us.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._on_reader_gone)

    def _next_item(self) -> bytes | None:
        future = asyncio.run_coroutine_threadsafe(self._queue.get(), self._loop)
        while True:
            try:
                item = future.result(timeout=1.0)
                break
            except TimeoutError:
                # A slow client is fine; a loop that stopped will never answer.
                if self._loop.is_closed() or not self._loop.is_running():
                    future.cancel()
                    raise UploadAborted("event loop stopped during upload") from None
        if item is _ABORT:
            raise UploadAborted("upload aborted by the sender")
        assert item is None or isinstance(item, bytes)
        return item
