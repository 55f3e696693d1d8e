"""Schedules: a script run on a cron expression in a time zone."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.retries import OverlapPolicy
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
    overlap = fields.CharEnumField(OverlapPolicy, max_length=16, default=OverlapPolicy.RUN_ANYWAY)
    # The retry policy of each run it fires (core/retries.py), or None.
    retry: fields.Field[dict[str, object] | None] = fields.JSONField(null=True)
    # The worker tag each of its runs requires (None: any worker).
    target = fields.CharField(max_length=128, null=True)
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
