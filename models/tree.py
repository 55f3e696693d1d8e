"""The folder/script tree. Script content lives in object storage, one
immutable object per version; rows hold names, structure and metadata."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.languages import Language
from models.base import TimestampedModel
from models.users import User


class Folder(TimestampedModel):
    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="folders", on_delete=fields.CASCADE
    )
    parent: fields.ForeignKeyNullableRelation[Folder] = fields.ForeignKeyField(
        "models.Folder", related_name="children", null=True, on_delete=fields.CASCADE
    )
    parent_key = fields.CharField(max_length=40)
    name = fields.CharField(max_length=255)

    owner_id: str
    parent_id: str | None

    class Meta:
        table = "folders"
        unique_together = (("owner", "parent_key", "name"),)


class Script(TimestampedModel):
    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="scripts", on_delete=fields.CASCADE
    )
    folder: fields.ForeignKeyNullableRelation[Folder] = fields.ForeignKeyField(
        "models.Folder", related_name="scripts", null=True, on_delete=fields.CASCADE
    )
    parent_key = fields.CharField(max_length=40)
    name = fields.CharField(max_length=255)
    description = fields.TextField(null=True)
    language = fields.CharEnumField(Language, max_length=16)
    version = fields.IntField(default=1)
    # Names of the owner's secrets this script receives as environment variables.
    secret_names: fields.Field[list[str]] = fields.JSONField(default=list)
    # Kept here when a run is queued, so "last run" of every script in a tree
    # is one batched read, not a scan of executions.
    last_execution_id = fields.UUIDField(null=True)
    # Python dependencies: a requirements text attached to the
    # script, and the key of the DependencySet its current version declares
    # (PEP 723 block + this text); None when it declares none.
    requirements: fields.Field[str | None] = fields.TextField(  # type: ignore[assignment]
        null=True
    )
    dependency_key: fields.Field[str | None] = fields.CharField(max_length=64, null=True)
    # At most this many runs of the script at once (None: no limit of its own);
    # the rest wait QUEUED, in order.
    max_concurrent_runs = fields.IntField(null=True)

    owner_id: str
    folder_id: str | None

    class Meta:
        table = "scripts"
        unique_together = (("owner", "parent_key", "name"),)


class ScriptVersion(Model):
    id = fields.IntField(primary_key=True)
    script: fields.ForeignKeyRelation[Script] = fields.ForeignKeyField(
        "models.Script", related_name="versions", on_delete=fields.CASCADE
    )
    version = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    size = fields.IntField()
    storage_key = fields.CharField(max_length=512)
    created_at = fields.DatetimeField(auto_now_add=True)

    script_id: str

    class Meta:
        table = "script_versions"
        unique_together = (("script", "version"),)


class TreeRevision(Model):
    """A counter per owner that goes up after every change to the folders and
    scripts of their tree (whoever makes it), so an answer computed from the
    tree can be reused, by any API process, while the counter stands still."""

    id = fields.IntField(primary_key=True)
    owner: fields.OneToOneRelation[User] = fields.OneToOneField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    revision = fields.BigIntField(default=0)

    owner_id: str

    class Meta:
        table = "tree_revisions"
