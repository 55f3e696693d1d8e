"""What SQL written out by hand (rather than built by Tortoise) needs to
know of the two databases: how each marks a statement's parameters."""

from __future__ import annotations


def parameter(dialect: str, number: int) -> str:
    """The mark of parameter `number` (from 1): `$1` on PostgreSQL, `?1` on
    SQLite, where a numbered mark may also be used more than once."""
    return f"${number}" if dialect == "postgres" else f"?{number}"
