"""The audit log: who did what to which object, with what outcome."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    # Increasing: the cursor of a page, and the order entries were written in.
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    # Plain columns, not foreign keys: an entry outlives the user and the
    # object it names.
    actor_id = fields.UUIDField(null=True, db_index=True)
    actor_name = fields.CharField(max_length=64, null=True)
    token_prefix = fields.CharField(max_length=16, null=True)
    action = fields.CharField(max_length=64, db_index=True)
    object_type = fields.CharField(max_length=32, null=True)
    object_id = fields.CharField(max_length=64, null=True, db_index=True)
    # Whose object it is, so its owner reads what was done to it.
    object_owner_id = fields.UUIDField(null=True, db_index=True)
    outcome = fields.CharField(max_length=40)
    client_address = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "audit_log"
