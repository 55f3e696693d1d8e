"""Leases: which process does a piece of periodic work that must run in one
process at a time (say, deleting old executions), until when.

A row per piece of work. A process takes the lease with a conditional UPDATE
(free, expired, or already its own), the way a schedule's due time is
claimed, so several API and worker processes on one database never do the
work twice at once and no transaction is held while the work runs."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Lease(Model):
    name = fields.CharField(max_length=64, primary_key=True)
    holder = fields.CharField(max_length=128, null=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "leases"
