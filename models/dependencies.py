"""Python dependencies of scripts: resolutions and environments.

A DependencySet is one declared set of requirements (normalised, for one
Python version), resolved once into exact pins. A PythonEnv is one resolved
set of pins installed on one Docker engine, in one named volume. Scripts
point at their DependencySet through ``Script.dependency_key``; any scripts
whose requirements resolve to the same pins share one PythonEnv.

Both tables double as cross-process locks: a row in a working status is
claimed by one process (``claimed_by``), which refreshes ``heartbeat_at``;
the others wait for it, and take over a row whose heartbeat went stale.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.base import TimestampedModel


class DependencyStatus(StrEnum):
    PENDING = "pending"  # declared, not resolved yet (no worker has run it)
    RESOLVING = "resolving"  # pip is resolving and downloading wheels
    INSTALLING = "installing"  # the environment is being built
    READY = "ready"
    FAILED = "failed"


class EnvStatus(StrEnum):
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    EVICTED = "evicted"  # removed from the cache; built again on demand


class DependencySet(TimestampedModel):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    python_version = fields.CharField(max_length=16)
    # Normalised PEP 508 requirement strings, sorted.
    requirements: fields.Field[list[str]] = fields.JSONField(default=list)
    status = fields.CharEnumField(DependencyStatus, max_length=16, default=DependencyStatus.PENDING)
    # [{"name", "version", "file", "sha256", "size"}], sorted by name.
    pins: fields.Field[list[dict[str, object]]] = fields.JSONField(default=list)
    env_hash = fields.CharField(max_length=64, null=True)
    error_code = fields.CharField(max_length=64, null=True)
    error_message = fields.TextField(null=True)
    claimed_by = fields.CharField(max_length=128, null=True)
    claim_seq = fields.IntField(default=0)  # bumped by every claim: conditional updates
    heartbeat_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "dependency_sets"


class PythonEnv(TimestampedModel):
    id = fields.IntField(primary_key=True)
    hash = fields.CharField(max_length=64)
    engine = fields.CharField(max_length=128)  # the Docker engine holding the volume
    status = fields.CharEnumField(EnvStatus, max_length=16, default=EnvStatus.BUILDING)
    volume = fields.CharField(max_length=128, null=True)
    size_bytes = fields.BigIntField(default=0)
    pins: fields.Field[list[dict[str, object]]] = fields.JSONField(default=list)
    error_code = fields.CharField(max_length=64, null=True)
    error_message = fields.TextField(null=True)
    claimed_by = fields.CharField(max_length=128, null=True)
    claim_seq = fields.IntField(default=0)  # bumped by every claim: conditional updates
    heartbeat_at = fields.DatetimeField(null=True)
    ready_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "python_envs"
        unique_together = (("hash", "engine"),)
        indexes = (("engine", "status", "last_used_at"),)
