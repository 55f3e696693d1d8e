"""A service's output on its way out: masked, capped per second, gathered
into chunks and kept in the service's log ring (services/service_logs.py).

A service runs for days, so its output has no total cap like a run's; it
has a rate instead. What it prints beyond SCRIPTBOX_SERVICE_LOG_BYTES_PER_SECOND
in one second is dropped, never waited for (the sandbox reads on, so a
flooding service is not stalled), and a line says how much was dropped.
Chunks are written at most every COALESCE_SECONDS, so a chatty service costs
a few rows a second whatever its write pattern."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from tortoise.exceptions import IntegrityError

from sandbox import OutputChunk
from services import service_logs
from services.events import ExecutionEventBus
from worker.masking import OutputMasker

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.2


class ServiceOutput:
    """One per kept service, shared by its successive containers."""

    def __init__(
        self,
        service_id: str,
        bus: ExecutionEventBus,
        bytes_per_second: int,
        keep_lines: int,
        next_seq: int,
    ) -> None:
        self._service_id = service_id
        self._bus = bus
        self._rate = max(1, bytes_per_second)
        self._keep_lines = keep_lines
        self._seq = next_seq
        self._masker = OutputMasker([])
        self._pending: list[str] = []
        self._window_start = 0.0
        self._window_bytes = 0
        self._dropped = 0
        self._flush_task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()

    def hide(self, secrets: Iterable[str]) -> None:
        """Mask these values in everything shown from now on."""
        self._masker = OutputMasker(list(secrets))

    async def feed(self, chunk: OutputChunk) -> None:
        """The sandbox's output callback: never blocks on the database."""
        text = self._masker.feed(chunk.data)
        if text:
            self._admit(text)

    def note(self, text: str) -> None:
        """A line of the supervisor's own (a restart, a stop) among the output."""
        self._pending.append(f"[scriptbox] {text}\n")
        self._schedule()

    def _admit(self, text: str) -> None:
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            if self._dropped:
                self._pending.append(
                    f"[scriptbox] {self._dropped} bytes of output dropped: over "
                    f"{self._rate} bytes a second\n"
                )
                self._dropped = 0
            self._window_start, self._window_bytes = now, 0
        size = len(text.encode())
        room = self._rate - self._window_bytes
        if size > room:
            kept = text.encode()[: max(room, 0)].decode("utf-8", "ignore")
            self._dropped += size - len(kept.encode())
            text = kept
        if text:
            self._window_bytes += len(text.encode())
            self._pending.append(text)
        self._schedule()

    def _schedule(self) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(COALESCE_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        """Write what is gathered now (also what the masker held back)."""
        async with self._write_lock:
            if self._dropped and not self._pending:
                self._admit("")
            text = "".join(self._pending)
            self._pending.clear()
            if not text:
                return
            seq, self._seq = self._seq, self._seq + 1
            try:
                await service_logs.append(self._bus, self._service_id, seq, text)
                if seq % service_logs.PRUNE_EVERY == 0:
                    await service_logs.prune(self._service_id, self._keep_lines)
            except IntegrityError:
                pass  # the service was deleted meanwhile: nobody will read it
            except Exception:
                log.exception("keeping the output of service %s failed", self._service_id)

    async def close(self) -> None:
        rest = self._masker.flush()
        if rest:
            self._pending.append(rest)
        task = self._flush_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        await self.flush()
