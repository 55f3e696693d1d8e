"""Schedules, batches, files, artifacts and secrets: what sits on top of
scripts and executions."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.tree import Script
from models.users import User


class Schedule(Model):
    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="schedules", on_delete=fields.CASCADE
    )
    # Deleting the script deletes its schedules.
    script: fields.ForeignKeyRelation[Script] = fields.ForeignKeyField(
        "models.Script", related_name="schedules", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=255, null=True)
    cron = fields.CharField(max_length=255)
    timezone = fields.CharField(max_length=64)
    input_json = fields.TextField()
    enabled = fields.BooleanField(default=True)
    # The next due time (UTC). A tick claims it with a conditional UPDATE, so
    # each due time fires once however many schedulers run.
    next_run_at = fields.DatetimeField(null=True, db_index=True)
    last_run_at = fields.DatetimeField(null=True)
    last_execution_id = fields.UUIDField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    owner_id: str
    script_id: str

    class Meta:
        table = "schedules"


class Batch(Model):
    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="batches", on_delete=fields.CASCADE
    )
    script: fields.ForeignKeyRelation[Script] = fields.ForeignKeyField(
        "models.Script", related_name="batches", on_delete=fields.CASCADE
    )
    concurrency = fields.IntField()
    size = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    owner_id: str
    script_id: str

    class Meta:
        table = "batches"


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
