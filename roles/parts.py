"""The parts several roles build from the settings, each one way: the object
store, the event bus, the secret store, accounts, and a worker.

A role builds only the parts it uses (see roles/api.py, roles/worker.py and
roles/admin.py): `create-user` opens the database and hashes a password, it
does not start a Docker client.
"""

from __future__ import annotations

import socket
from datetime import timedelta

from core.secret_files import load_or_create_secret
from core.settings import Settings
from sandbox import DockerSandbox, SandboxConfig
from services.accounts import Accounts
from services.credentials import TokenCodec
from services.events import ExecutionEventBus, InMemoryEventBus
from services.files import FileStore
from services.login_throttle import LoginThrottle
from services.secrets import SecretStore
from services.session_cache import SessionCache
from storage import LocalStorageConfig, ObjectStore, S3StorageConfig, create_object_store
from worker.limits import default_limits
from worker.loop import Worker


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


def build_store(settings: Settings) -> ObjectStore:
    return create_object_store(storage_config(settings))


def build_bus(settings: Settings) -> ExecutionEventBus:
    """Redis between processes when configured; else in memory, for one process."""
    if settings.redis_url:
        # Imported only when used: redis-py imports OpenTelemetry whenever
        # it is installed, which an untraced embedded service must not.
        from services.redis_events import RedisEventBus

        return RedisEventBus(settings.redis_url, settings.redis_prefix)
    return InMemoryEventBus(settings.subscriber_queue_limit)


def build_secrets(settings: Settings) -> SecretStore:
    return SecretStore(settings.secrets_key, settings.secrets_key_file)


def build_accounts(settings: Settings, sessions: SessionCache | None = None) -> Accounts:
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
    return Accounts(tokens, throttle, settings.registration, sessions)


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
