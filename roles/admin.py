"""The admin commands: each opens only what it needs (the database, the
schema; `prune` the object store too), never a Docker client."""

from __future__ import annotations

from core.settings import Settings
from graphql_api.schema import build_schema
from models import db
from models.users import User
from services.accounts import create_user
from services.retention import PruneReport, Retention


async def migrate(settings: Settings) -> list[str]:
    """The names of the migrations applied."""
    async with db.opened(settings.database_url, migrate_first=True) as applied:
        return applied


async def add_user(settings: Settings, username: str, password: str, is_admin: bool) -> User:
    async with db.opened(settings.database_url, migrate_first=True):
        return await create_user(username, password, is_admin=is_admin)


# How long `prune` waits for a scheduler that is pruning at the moment.
PRUNE_WAIT_SECONDS = 60.0


async def prune(settings: Settings, dry_run: bool) -> PruneReport:
    """Apply the retention settings once, now (or say what that would delete)."""
    # Here, not at the top: roles.parts brings the sandbox's modules, which
    # the other admin commands need not load.
    from roles.parts import build_store

    store = build_store(settings)
    try:
        async with db.opened(settings.database_url, migrate_first=settings.auto_migrate):
            retention = Retention.from_settings(settings, store)
            return await retention.prune(dry_run=dry_run, wait=PRUNE_WAIT_SECONDS)
    finally:
        await store.close()


async def remove_user(settings: Settings, username: str) -> User:
    """Delete an account with all it owns, its stored objects first."""
    from roles.parts import build_store
    from services.account_removal import delete_account

    store = build_store(settings)
    try:
        async with db.opened(settings.database_url, migrate_first=settings.auto_migrate):
            return await delete_account(store, username)
    finally:
        await store.close()


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"
