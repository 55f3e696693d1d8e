"""Batches: one execution per input, at most `concurrency` running at once."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.tree import Script
from models.users import User


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
    # The worker tag it was placed by: each of its runs requires it
    # (runBatch), or went to its own worker carrying it (runOnWorkers, where
    # each run's target is that worker's name). None: any worker.
    target = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    owner_id: str
    script_id: str

    class Meta:
        table = "batches"
