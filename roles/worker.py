"""The worker process (`scriptbox worker`): runs executions and schedules on
this machine's Docker engine, serves no HTTP."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import uvloop

from core.settings import Settings
from models import db
from models.executions import WorkerHeartbeat
from roles.parts import build_bus, build_secrets, build_store, build_worker, worker_name
from services.events import ExecutionEventBus
from services.executions.service import ExecutionService
from services.files import FileStore
from services.retention import Retention
from services.schedules import Scheduler
from storage import ObjectStore
from worker.loop import Worker

log = logging.getLogger("scriptbox")
T = TypeVar("T")


def run_on_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Runs the worker's event loop: uvloop, as `scriptbox serve` does
    (graphql_api/serving.py), so the worker code the API process proves is
    what a worker process runs, with its C transports (a worker's time goes
    mostly to database and Redis round trips)."""
    return uvloop.run(main)


@dataclass(frozen=True)
class WorkerProcess:
    store: ObjectStore
    bus: ExecutionEventBus
    worker: Worker
    scheduler: Scheduler | None
    # Applied where the schedules are: deletes old executions (retention).
    retention: Retention | None = None

    async def start(self) -> None:
        await self.store.ensure_ready()
        await self.worker.start()
        if self.scheduler is not None:
            await self.scheduler.start()
        if self.retention is not None:
            await self.retention.start()

    async def close(self) -> None:
        if self.retention is not None:
            await self.retention.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.worker.stop()
        await self.bus.close()
        await self.store.close()


def build_worker_process(settings: Settings) -> WorkerProcess:
    store = build_store(settings)
    bus = build_bus(settings)
    files = FileStore(store, settings.max_file_bytes)
    worker = build_worker(settings, store, bus, build_secrets(settings), files)
    executions = ExecutionService(settings, bus, store)
    scheduler = Scheduler(executions) if settings.scheduler_enabled else None
    retention = Retention.from_settings(settings, store) if settings.scheduler_enabled else None
    return WorkerProcess(
        store=store, bus=bus, worker=worker, scheduler=scheduler, retention=retention
    )


async def run_until_stopped(settings: Settings) -> None:
    # First of all: a SIGTERM during start-up then stops the worker once it
    # has started (and reaped what an earlier run left), instead of killing it.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    process = build_worker_process(settings)
    async with db.opened(settings.database_url, migrate_first=settings.auto_migrate):
        await process.start()
        log.info(
            "worker %s running (concurrency %d)",
            process.worker.name,
            settings.worker_concurrency,
        )
        try:
            await stop.wait()
        finally:
            await process.close()


async def is_alive(settings: Settings) -> bool:
    """Whether this machine's worker wrote its heartbeat recently."""
    async with db.opened(settings.database_url, migrate_first=False):
        cutoff = datetime.now(UTC) - timedelta(seconds=settings.worker_lost_after_seconds)
        return await WorkerHeartbeat.exists(name=worker_name(settings), last_seen__gte=cutoff)
