"""A user's caps (runs queued or running, services up) are counted, and the
row they count written, in one transaction that holds the user's row:
otherwise two requests at the same moment both count one below the cap and
both write.

On PostgreSQL the transaction locks the user's row (`SELECT ... FOR NO KEY
UPDATE`), so a second one waits until the first commits and then counts
what it wrote. The weaker of the two update locks: it excludes its like,
which is all the caps need, but not the share lock every insert of a row
that references the user takes on it (a folder, a script, a login), so
those go on while a submission holds the row.

On SQLite a transaction holds the process's one connection (Tortoise's
lock), which serialises them already, so no row is read.
(Several processes on one SQLite file are not a supported deployment.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise import connections
from tortoise.transactions import in_transaction

from models.users import User


@asynccontextmanager
async def counting_for(user_id: str | uuid.UUID) -> AsyncIterator[None]:
    """A transaction in which `user_id`'s caps are counted and written alone."""
    async with in_transaction():
        await hold_user_row(user_id)
        yield


async def hold_user_row(user_id: str | uuid.UUID) -> None:
    """Inside a transaction: hold `user_id`'s row until it ends."""
    connection = connections.get("default")
    if connection.capabilities.dialect != "postgres":
        return  # SQLite: the transaction alone serialises (see above)
    # Written out: Tortoise would build it and a User model at every submission.
    await connection.execute_query(_HOLD, [str(user_id)])


_HOLD = f'SELECT 1 FROM "{User._meta.db_table}" WHERE "id" = $1 FOR NO KEY UPDATE'
