"""The database's lifecycle, written once for every role: the Tortoise config,
migrations (aerich), connecting and closing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from aerich import Command
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from models import MODEL_MODULES

log = logging.getLogger(__name__)

# aerich keeps an app's migrations in <location>/<app>: models/migrations/models/.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        # Store and compare datetimes in UTC on every backend.
        "use_tz": True,
        "timezone": "UTC",
    }


def _ensure_sqlite_dir(database_url: str) -> None:
    prefix = "sqlite://"
    if database_url.startswith(prefix):
        path = database_url[len(prefix) :].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


# Any fixed number: every Scriptbox process migrating one PostgreSQL
# database takes this advisory lock first, so several API and worker
# processes starting at once apply each migration exactly once.
MIGRATION_LOCK_KEY = 0x5C21_B0C5


async def migrate(database_url: str) -> list[str]:
    """Apply pending migrations; returns the names of those applied.

    Uses the open Tortoise connection when there is one (see `connect`)."""
    _ensure_sqlite_dir(database_url)
    if database_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        lock = await asyncpg.connect(database_url.replace("asyncpg://", "postgres://", 1))
        try:
            await lock.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            return await _apply_migrations(database_url)
        finally:
            await lock.close()  # ends the session, which releases the lock
    return await _apply_migrations(database_url)


async def _apply_migrations(database_url: str) -> list[str]:
    command = Command(
        tortoise_config=tortoise_config(database_url),
        app="models",
        location=str(MIGRATIONS_DIR),
    )
    await command.init()
    applied = await command.upgrade(run_in_transaction=True)
    for name in applied:
        log.info("applied migration %s", name)
    return applied


async def connect(database_url: str) -> None:
    _ensure_sqlite_dir(database_url)
    # The global fallback lets request tasks use the connections opened in
    # the lifespan task (Tortoise's own Starlette integration does the same).
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def disconnect() -> None:
    await Tortoise.close_connections()
    # Tortoise caches prepared INSERT/UPDATE statements per connection *name*,
    # not per dialect; a process that connects again to another database
    # (the test suite: SQLite, then PostgreSQL) must not reuse them.
    EXECUTOR_CACHE.clear()


@asynccontextmanager
async def opened(database_url: str, *, migrate_first: bool) -> AsyncIterator[list[str]]:
    """Connected for the block (migrated first when asked); yields the names
    of the migrations applied; closed on the way out, whatever happens."""
    await connect(database_url)
    try:
        yield await migrate(database_url) if migrate_first else []
    finally:
        await disconnect()
