"""The conditional UPDATE that moves an execution's status, as SQL written
here rather than built by Tortoise at each call.

Every run ends with this statement, and Tortoise builds an UPDATE through
pypika each time it is awaited: over B7's control plane that building cost
the worker about as much CPU as the database round trip itself. The
statement's shape depends only on which columns it names, so the SQL is
kept per shape; values still go through each field's `to_db_value`, exactly
as Tortoise writes them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import cache
from typing import Any

from tortoise import connections

from models.executions import Execution
from models.sql import parameter

TABLE = Execution._meta.db_table


def _column(name: str) -> str:
    """The column of a data field (relations are written by their `_id` field)."""
    try:
        return Execution._meta.fields_db_projection[name]
    except KeyError:
        raise ValueError(f"executions has no column for the field {name!r}") from None


@cache
def _statement(dialect: str, sets: tuple[str, ...], wheres: tuple[tuple[str, bool], ...]) -> str:
    """`UPDATE ... SET <sets> WHERE id = ... AND <wheres>`; a where clause
    whose value is None reads `IS NULL` and takes no parameter."""
    marks = iter(range(1, len(sets) + len(wheres) + 2))

    def mark() -> str:
        return parameter(dialect, next(marks))

    assigned = ", ".join(f'"{_column(name)}" = {mark()}' for name in sets)
    conditions = [f'"{_column("id")}" = {mark()}']
    for name, is_null in wheres:
        conditions.append(
            f'"{_column(name)}" IS NULL' if is_null else f'"{_column(name)}" = {mark()}'
        )
    return f'UPDATE "{TABLE}" SET {assigned} WHERE {" AND ".join(conditions)}'


def _db_value(name: str, value: Any) -> Any:
    return Execution._meta.fields_map[name].to_db_value(value, Execution)


async def update_where(
    execution_id: uuid.UUID | str, where: Mapping[str, Any], values: Mapping[str, Any]
) -> bool:
    """Writes `values` into the row `execution_id` if its fields equal
    `where` now (None: IS NULL); True when it did. Runs on the current
    transaction's connection, if any."""
    connection = connections.get("default")
    sets = tuple(values)
    wheres = tuple((name, where[name] is None) for name in where)
    sql = _statement(connection.capabilities.dialect, sets, wheres)
    parameters = [_db_value(name, values[name]) for name in sets]
    parameters.append(_db_value("id", execution_id))
    parameters.extend(_db_value(name, where[name]) for name in where if where[name] is not None)
    changed: int
    changed, _ = await connection.execute_query(sql, parameters)
    return changed == 1
