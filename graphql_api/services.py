"""The long-lived parts of one running service, built once at start-up."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import timedelta

from core.secret_files import load_or_create_secret
from core.settings import Settings
from engine.events import ExecutionEventBus, InMemoryEventBus
from engine.executions import ExecutionService
from engine.files import FileStore
from engine.limits import default_limits
from engine.redis_bus import RedisEventBus
from engine.scheduler import Scheduler, Schedules
from engine.secrets import SecretStore
from engine.worker import Worker
from graphql_api.accounts import Accounts
from graphql_api.security import TokenCodec
from graphql_api.throttle import LoginThrottle
from models.tree_ops import TreeOps
from sandbox import DockerSandbox, SandboxConfig
from storage import LocalStorageConfig, ObjectStore, S3StorageConfig, create_object_store


@dataclass
class Services:
    settings: Settings
    store: ObjectStore
    accounts: Accounts
    tree: TreeOps
    bus: ExecutionEventBus
    executions: ExecutionService
    worker: Worker | None
    secrets: SecretStore
    files: FileStore
    schedules: Schedules
    scheduler: Scheduler | None

    async def start(self) -> None:
        await self.store.ensure_ready()
        if self.worker is not None:
            await self.worker.start()
        if self.scheduler is not None:
            await self.scheduler.start()

    async def close(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.worker is not None:
            await self.worker.stop()
        await self.bus.close()
        await self.store.close()


def storage_config(settings: Settings) -> LocalStorageConfig | S3StorageConfig:
    if settings.storage_backend == "s3":
        if not settings.s3_endpoint:
            raise ValueError("SCRIPTBOX_STORAGE=s3 needs SCRIPTBOX_S3_ENDPOINT")
        return S3StorageConfig(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
    return LocalStorageConfig(root=settings.storage_dir)


def build_services(settings: Settings) -> Services:
    store = create_object_store(storage_config(settings))
    tokens = TokenCodec(
        load_or_create_secret(settings.jwt_secret, settings.jwt_secret_file),
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    throttle = LoginThrottle(
        settings.login_max_failures,
        settings.login_window_seconds,
        settings.login_first_delay_seconds,
        settings.login_max_usernames_per_address,
    )
    bus: ExecutionEventBus = (
        RedisEventBus(settings.redis_url, settings.redis_prefix)
        if settings.redis_url
        else InMemoryEventBus(settings.subscriber_queue_limit)
    )
    secrets = SecretStore(settings.secrets_key, settings.secrets_key_file)
    files = FileStore(store, settings.max_file_bytes)
    worker = (
        build_worker(settings, store, bus, secrets, files) if settings.embedded_worker else None
    )
    executions = ExecutionService(settings, bus, worker)
    return Services(
        settings=settings,
        store=store,
        accounts=Accounts(tokens, throttle),
        tree=TreeOps(store, settings.max_script_bytes, settings.max_folder_depth),
        bus=bus,
        executions=executions,
        worker=worker,
        secrets=secrets,
        files=files,
        schedules=Schedules(settings),
        scheduler=Scheduler(executions) if settings.scheduler_enabled else None,
    )


def worker_name(settings: Settings) -> str:
    # Stable across restarts of the same machine, so a restarted worker finds
    # and fails the executions it was running when it died.
    return settings.worker_name or f"{socket.gethostname()}-embedded"


def build_worker(
    settings: Settings,
    store: ObjectStore,
    bus: ExecutionEventBus,
    secrets: SecretStore,
    files: FileStore,
) -> Worker:
    name = worker_name(settings)
    sandbox = DockerSandbox(
        SandboxConfig(
            image=settings.sandbox_image,
            docker_host=settings.docker_host,
            warm_pool_size=settings.warm_pool_size,
            owner=name,
            default_limits=default_limits(settings),
        )
    )
    return Worker(name, settings, sandbox, store, bus, secrets, files)
