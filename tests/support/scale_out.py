"""The scale-out shape for tests: API and worker processes sharing one fresh
PostgreSQL database, Redis (under a prefix of the test's own), one JWT
secret and one object store."""

from __future__ import annotations

import secrets
import signal
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from harness.postgres import fresh_postgres_database
from tests.support.containers import remove_containers
from tests.support.owners import owned_name
from tests.support.processes import ServiceProcess, cli_environment


@asynccontextmanager
async def shared_environment(tmp_path: Path, **extra: str) -> AsyncIterator[dict[str, str]]:
    """What every process of one test shares. Heartbeats are fast so that a
    lost worker shows within seconds; `extra` adds or overrides settings."""
    async with fresh_postgres_database() as database_url:
        shared = {
            "SCRIPTBOX_DATABASE_URL": database_url,
            "SCRIPTBOX_REDIS_URL": "redis://127.0.0.1:6379/0",
            "SCRIPTBOX_REDIS_PREFIX": f"scriptbox-test-{secrets.token_hex(4)}:",
            "SCRIPTBOX_JWT_SECRET": secrets.token_urlsafe(32),
            "SCRIPTBOX_STORAGE_DIR": str(tmp_path / "objects"),
            "SCRIPTBOX_WORKER_HEARTBEAT_SECONDS": "1",
            "SCRIPTBOX_WORKER_LOST_AFTER_SECONDS": "5",
        }
        yield cli_environment(tmp_path / "data", **{**shared, **extra})


def api_process(base: dict[str, str]) -> ServiceProcess:
    """`scriptbox serve` with no embedded worker: every run goes to a worker."""
    return ServiceProcess({**base, "SCRIPTBOX_EMBEDDED_WORKER": "false"})


def worker_process(base: dict[str, str], label: str, **extra: str) -> ServiceProcess:
    """`scriptbox worker` named after `label` (and this test run, so the
    session's leftovers check sees its containers)."""
    env = {**base, "SCRIPTBOX_WORKER_NAME": owned_name(label), **extra}
    return ServiceProcess(env, command="worker")


def stop_all(processes: Iterable[ServiceProcess]) -> None:
    """Stop every process. A worker killed on purpose leaves its containers
    for its next start to reap; when the test ends before that, they are
    removed here. (A worker stopped gracefully must have removed its own: the
    session's leftovers check reports any that remain.)"""
    for process in processes:
        process.stop()
        killed = process.process is not None and process.process.returncode == -signal.SIGKILL
        if process.command == "worker" and killed:
            remove_containers(process.env["SCRIPTBOX_WORKER_NAME"])
