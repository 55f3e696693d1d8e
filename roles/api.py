"""The API process (`scriptbox serve`): the HTTP face, the services it answers
with, and, unless turned off, an embedded worker and the schedule ticker."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette

from core.settings import Settings
from graphql_api.app import create_app
from resolvers.context import ApiServices
from roles.parts import build_accounts, build_bus, build_secrets, build_store, build_worker
from services.access_watch import AccessWatch
from services.audit import AuditLog
from services.batches import BatchService
from services.events import ExecutionEventBus
from services.executions.service import ExecutionService
from services.files import FileStore
from services.retention import Retention
from services.schedules import Scheduler, Schedules
from services.session_cache import SessionCache
from services.tree import TreeService
from worker.loop import Worker


@dataclass(frozen=True)
class ApiProcess:
    """Everything one API process runs; `start` and `close` bracket its life
    (the database is opened around them by the app's lifespan)."""

    services: ApiServices
    bus: ExecutionEventBus
    worker: Worker | None
    scheduler: Scheduler | None
    # Applied where the schedules are: deletes old executions (retention).
    retention: Retention | None = None

    async def start(self) -> None:
        await self.services.store.ensure_ready()
        await self.services.access_watch.start()
        await self.services.audit.start()
        if self.worker is not None:
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
        if self.worker is not None:
            await self.worker.stop()
        await self.services.audit.close()
        await self.services.access_watch.close()
        await self.bus.close()
        await self.services.store.close()


def build_api_process(settings: Settings) -> ApiProcess:
    store = build_store(settings)
    bus = build_bus(settings)
    secrets = build_secrets(settings)
    files = FileStore(store, settings.max_file_bytes)
    worker = (
        build_worker(settings, store, bus, secrets, files) if settings.embedded_worker else None
    )
    executions = ExecutionService(settings, bus, store)
    access_watch = AccessWatch(settings.access_check_seconds)
    services = ApiServices(
        settings=settings,
        store=store,
        accounts=build_accounts(
            settings, SessionCache(lambda: access_watch.revision, settings.access_check_seconds)
        ),
        tree=TreeService(store, settings.max_script_bytes, settings.max_folder_depth),
        executions=executions,
        batches=BatchService(settings, executions),
        secrets=secrets,
        files=files,
        schedules=Schedules(settings),
        access_watch=access_watch,
        audit=AuditLog(settings.audit_retention_days),
    )
    scheduler = Scheduler(executions) if settings.scheduler_enabled else None
    retention = Retention.from_settings(settings, store) if settings.scheduler_enabled else None
    return ApiProcess(
        services=services, bus=bus, worker=worker, scheduler=scheduler, retention=retention
    )


def build_api_app(settings: Settings | None = None) -> Starlette:
    """The app `scriptbox serve` serves; `app.state.process` is what it runs."""
    settings = settings or Settings.from_env()
    process = build_api_process(settings)
    app = create_app(settings, process.services, process)
    app.state.process = process
    return app
