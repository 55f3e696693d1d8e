"""Failed logins, one row per (username, client address), kept in the
database so every API process sees the same count.

Rows are short-lived: each carries `expires_at`, after which it means
nothing and may be deleted (graphql_api/throttle.py prunes them)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class LoginFailures(Model):
    id = fields.BigIntField(primary_key=True)
    # Lower-cased as typed, whether or not such a user exists.
    username = fields.CharField(max_length=128)
    # The socket peer (an IPv6 address by its /64 network).
    client_address = fields.CharField(max_length=64)
    failures = fields.IntField(default=0)
    last_failed_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "login_failures"
        unique_together = (("username", "client_address"),)
        indexes = (("client_address", "expires_at"),)
