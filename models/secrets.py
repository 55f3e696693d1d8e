"""Secrets: values encrypted at rest, handed only to runs that declare them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.users import User


class Secret(Model):
    """A named secret; the value is encrypted at rest and never read back
    through the API, only handed to runs that declare it."""

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="secrets", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64)
    ciphertext = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    owner_id: str

    class Meta:
        table = "secrets"
        unique_together = (("owner", "name"),)
