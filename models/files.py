"""Files users upload, and the artifacts executions write under /job/out/."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.users import User


class StoredFile(Model):
    """A file a user uploaded, addressed by a key of their choosing."""

    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="files", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=1024)
    size = fields.BigIntField()
    content_type = fields.CharField(max_length=255)
    sha256 = fields.CharField(max_length=64)
    storage_key = fields.CharField(max_length=1024)
    created_at = fields.DatetimeField(auto_now_add=True)

    owner_id: str

    class Meta:
        table = "files"
        unique_together = (("owner", "key"),)


class Artifact(Model):
    """A file an execution wrote under /job/out/."""

    id = fields.UUIDField(primary_key=True)
    execution: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "models.Execution", related_name="artifacts", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=255)
    size = fields.BigIntField()
    content_type = fields.CharField(max_length=255)
    storage_key = fields.CharField(max_length=1024)
    created_at = fields.DatetimeField(auto_now_add=True)

    execution_id: str

    class Meta:
        table = "artifacts"
        unique_together = (("execution", "name"),)
