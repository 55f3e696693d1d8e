"""Database start-up: the Tortoise config, migrations (aerich) and shutdown."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from aerich import Command
from tortoise import Tortoise

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


async def migrate(database_url: str) -> list[str]:
    """Apply pending migrations; returns the names of those applied.

    Uses the open Tortoise connection when there is one (see `connect`)."""
    _ensure_sqlite_dir(database_url)
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
