"""Services: scripts kept running by a worker's supervisor until stopped.

The row holds what the owner asked for (`desired_running`, the version, the
policy) and what the supervisor last saw (status, restarts, the container's
resources), so any API process answers from it and any worker can take a
service over. `ServiceEvent` is its history; `ServiceLogChunk` its recent
output, a bounded ring kept in the database so every process reads it."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.service_states import RestartPolicy, ServiceStatus
from models.tree import Script
from models.users import User


class Service(Model):
    id = fields.UUIDField(primary_key=True)
    # Who started it: it runs with their secrets, and counts against their limit.
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="services", on_delete=fields.CASCADE
    )
    script: fields.ForeignKeyRelation[Script] = fields.ForeignKeyField(
        "models.Script", related_name="services", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=128)
    version = fields.IntField()
    # Started with `pinVersion`: a plain restart keeps this version.
    pinned = fields.BooleanField(default=False)
    input_json = fields.TextField()
    restart_policy = fields.CharEnumField(RestartPolicy, max_length=16)
    max_restarts = fields.IntField()
    http = fields.BooleanField(default=False)
    public = fields.BooleanField(default=False)
    target = fields.CharField(max_length=128, null=True)
    desired_running = fields.BooleanField(default=True, db_index=True)
    status = fields.CharEnumField(ServiceStatus, max_length=16)
    # Raised by restartService: the supervisor starts a new container when it
    # sees a generation it has not started.
    generation = fields.IntField(default=0)
    restarts = fields.IntField(default=0)
    # Failed ends in a row since it last stayed up: what the backoff and the
    # maximum count (a service that ran for a while starts afresh).
    failure_streak = fields.IntField(default=0)
    started_at = fields.DatetimeField(null=True)
    last_exit_code = fields.IntField(null=True)
    # The worker that keeps it up; another takes it over when this one's
    # heartbeat stops (worker/supervisor.py).
    worker = fields.CharField(max_length=128, null=True, db_index=True)
    not_before = fields.DatetimeField(null=True)  # the end of a backoff
    memory_bytes = fields.BigIntField(null=True)
    cpu_user_seconds = fields.FloatField(null=True)
    cpu_system_seconds = fields.FloatField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    owner_id: str
    script_id: str

    class Meta:
        table = "services"
        indexes = (("owner_id", "created_at"),)


class ServiceEvent(Model):
    """One thing that happened to a service (core/service_states.py
    ServiceEventKind). Kept after the service is deleted, for the statistics."""

    id = fields.BigIntField(primary_key=True)
    service: fields.ForeignKeyNullableRelation[Service] = fields.ForeignKeyField(
        "models.Service", related_name="events", null=True, on_delete=fields.SET_NULL
    )
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="service_events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    kind = fields.CharField(max_length=16)
    version = fields.IntField(null=True)
    exit_code = fields.IntField(null=True)
    message = fields.TextField(null=True)

    service_id: str | None
    owner_id: str

    class Meta:
        table = "service_events"
        indexes = (("owner_id", "at"),)


class ServiceLogChunk(Model):
    """Output of a service, already masked and rate-capped, in the order it
    was printed: `seq` increases by one per chunk. Old chunks are deleted
    once the newer ones hold the lines kept (SCRIPTBOX_SERVICE_LOG_LINES)."""

    id = fields.BigIntField(primary_key=True)
    service: fields.ForeignKeyRelation[Service] = fields.ForeignKeyField(
        "models.Service", related_name="log_chunks", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    lines = fields.IntField()  # newlines in `text`
    text = fields.TextField()

    service_id: str

    class Meta:
        table = "service_log_chunks"
        unique_together = (("service_id", "seq"),)
