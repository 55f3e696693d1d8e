"""Accounts and the refresh tokens issued to them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class User(Model):
    id = fields.UUIDField(primary_key=True)
    # Stored lower-cased: usernames are case-insensitive.
    username = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=255)
    is_admin = fields.BooleanField(default=False)
    # A deactivated account cannot log in, and its sessions, tokens, sockets
    # and schedules stop; reactivating it restores all but the sessions.
    is_active = fields.BooleanField(default=True)
    # Access tokens issued before this moment are refused (a password change
    # ends every session); None: none are.
    sessions_valid_after = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class RefreshToken(Model):
    """One issued refresh token. Rotation marks it used; a second use of a
    used token is theft, so the whole family (one login's chain) is revoked."""

    jti = fields.CharField(max_length=64, primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    family = fields.CharField(max_length=64, db_index=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refresh_tokens"
