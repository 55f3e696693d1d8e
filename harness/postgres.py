"""A fresh PostgreSQL database per use, on the local server that
scripts/services-up.sh starts (role `scriptbox` on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

DROP_ATTEMPTS = 40
DROP_PAUSE_SECONDS = 0.5
ADMIN_URL = os.environ.get(
    "SCRIPTBOX_TEST_POSTGRES_URL", "postgres://scriptbox:scriptbox@127.0.0.1:5432/postgres"
)


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """Yields the URL of a new, empty database; drops it afterwards."""
    name = f"scriptbox_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(ADMIN_URL)
        try:
            await _drop(admin, name)
        finally:
            await admin.close()


async def _drop(admin: asyncpg.Connection, name: str) -> None:
    # FORCE ends the database's sessions, but not one this role may not
    # signal (an autovacuum worker busy in it): that one ends by itself.
    for _ in range(DROP_ATTEMPTS - 1):
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            await asyncio.sleep(DROP_PAUSE_SECONDS)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
