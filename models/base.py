"""Shared model pieces."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class TimestampedModel(Model):
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


# Folders and scripts at the top of a tree have no parent. SQL treats NULLs as
# distinct in unique constraints, so sibling uniqueness is keyed on a non-null
# `parent_key`: the parent's id, or ROOT_KEY at the top.
ROOT_KEY = "root"
