"""The admin commands: each opens only what it needs (the database, the
schema), never a Docker client or an object store."""

from __future__ import annotations

from core.settings import Settings
from graphql_api.schema import build_schema
from models import db
from models.users import User
from services.accounts import create_user


async def migrate(settings: Settings) -> list[str]:
    """The names of the migrations applied."""
    async with db.opened(settings.database_url, migrate_first=True) as applied:
        return applied


async def add_user(settings: Settings, username: str, password: str, is_admin: bool) -> User:
    async with db.opened(settings.database_url, migrate_first=True):
        return await create_user(username, password, is_admin=is_admin)


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"
