"""Executions: one row per run of one script version, or of code that is not
in the tree (`runCode`, its content kept beside the row in `ExecutionCode`).
The database is the source of truth for every execution; queues and buses
only point at rows."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.languages import Language
from core.statuses import ExecutionStatus
from models.tree import Script
from models.users import User


class Execution(Model):
    id = fields.UUIDField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="executions", on_delete=fields.CASCADE
    )
    script: fields.ForeignKeyNullableRelation[Script] = fields.ForeignKeyField(
        "models.Script", related_name="executions", null=True, on_delete=fields.CASCADE
    )
    script_version = fields.IntField(null=True)
    status = fields.CharEnumField(ExecutionStatus, max_length=16, db_index=True)
    # Raw JSON text: kept exactly as given, and cheap to pass to the sandbox.
    input_json = fields.TextField()
    result_json = fields.TextField(null=True)
    error_code = fields.CharField(max_length=64, null=True)
    error_message = fields.TextField(null=True)
    exit_code = fields.IntField(null=True)
    stdout = fields.TextField(default="")
    stderr = fields.TextField(default="")
    output_truncated = fields.BooleanField(default=False)
    # Output past SCRIPTBOX_OUTPUT_INLINE_BYTES lives in object storage, not
    # in `stdout`/`stderr` (then empty): the key of that object, and its size.
    output_key = fields.CharField(max_length=255, null=True)
    output_stored_bytes = fields.BigIntField(null=True)
    timeout_seconds = fields.FloatField()
    # Which worker claimed it: recovery after a crash fails only that
    # worker's RUNNING rows.
    worker = fields.CharField(max_length=128, null=True, db_index=True)
    # The worker tag it requires (None: any worker): only a worker carrying
    # it claims the row (services/executions/queue.py).
    target = fields.CharField(max_length=128, null=True)
    cancel_requested = fields.BooleanField(default=False)
    # What started it, when not a person: a schedule tick or a batch.
    schedule: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "models.Schedule", related_name="executions", null=True, on_delete=fields.SET_NULL
    )
    batch: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "models.Batch", related_name="executions", null=True, on_delete=fields.CASCADE
    )
    # Keys of the caller's files, copied into /job/in/ (JSON list).
    input_files: fields.Field[list[str]] = fields.JSONField(default=list)
    rejected_artifacts: fields.Field[list[str]] = fields.JSONField(default=list)
    # Retries: each attempt is a row of its own; every later attempt points at
    # the first, and carries the policy (core/retries.py) as JSON.
    attempt = fields.IntField(default=1)
    # (An id, not a foreign key: every attempt goes with its script, and
    # SQLite cannot add a foreign key to an existing table.)
    retry_of_id = fields.UUIDField(null=True, db_index=True)
    retry: fields.Field[dict[str, object] | None] = fields.JSONField(null=True)
    # Not claimed before this time: the backoff before a retry, kept in the
    # row so that it survives a restart of every process.
    not_before = fields.DatetimeField(null=True)
    # While RUNNING under its script's `max_concurrent_runs`: which of the
    # script's run slots it holds. Unique per script, so two workers that
    # claim at once can never both take the last slot (one claim fails and
    # tries again); NULL otherwise, and NULLs never collide.
    run_slot = fields.IntField(null=True)
    # The same for its batch's `concurrency`: which of the batch's slots it
    # holds while RUNNING, unique per batch.
    batch_slot = fields.IntField(null=True)
    # A schedule's run under the QUEUE overlap policy: waits until the
    # earlier runs of its schedule have ended.
    waits_for_schedule = fields.BooleanField(default=False)
    # The scripts the run imported, pinned when it started (JSON list of
    # {path, version, sha256, script_id}; services/bundles.py).
    bundle: fields.Field[list[dict[str, object]]] = fields.JSONField(default=list)
    queued_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    duration_ms = fields.IntField(null=True)
    # What the run cost, as the sandbox measured it (core/usage.py); null
    # where it could not tell, and for runs that never reached a container.
    peak_memory_bytes = fields.BigIntField(null=True)
    cpu_user_seconds = fields.FloatField(null=True)
    cpu_system_seconds = fields.FloatField(null=True)
    wall_seconds = fields.FloatField(null=True)
    # The sandbox image it ran in: the configured reference, and the image id
    # that reference named when the container was created.
    image = fields.CharField(max_length=255, null=True)
    image_id = fields.CharField(max_length=128, null=True)

    owner_id: str
    script_id: str | None  # None for a run of unsaved code: see ExecutionCode
    schedule_id: str | None
    batch_id: str | None

    class Meta:
        table = "executions"
        unique_together = (("script_id", "run_slot"), ("batch_id", "batch_slot"))
        # ("status", "queued_at"): the claim finds the oldest QUEUED row at once,
        # however long the history and however deep the queue.
        indexes = (("owner_id", "queued_at"), ("script_id", "queued_at"), ("status", "queued_at"))


class ExecutionCode(Model):
    """What a run of unsaved code ran: written with its execution and never
    changed, so its history shows exactly that content. A table of its own,
    so the listing of executions never reads the content."""

    execution: fields.OneToOneRelation[Execution] = fields.OneToOneField(
        "models.Execution", related_name="code", on_delete=fields.CASCADE, primary_key=True
    )
    language = fields.CharEnumField(Language, max_length=16)
    content = fields.TextField()
    sha256 = fields.CharField(max_length=64)
    size = fields.IntField()

    execution_id: str

    class Meta:
        table = "execution_code"


class ExecutionOutput(Model):
    """Output of a RUNNING execution, written in batches while it runs, so a
    crash of its worker loses at most the last batch. Each row holds the
    published output events `seq`..`last_seq` of one stream (already
    masked): consecutive events of a stream within one batch share a row.
    When the execution ends, its full output goes to the execution row and
    these rows are deleted: they exist only for runs in progress.

    A table of appended rows rather than appending to `executions.stdout`:
    an append to a text column rewrites the whole value (quadratic in the
    output of a long run on PostgreSQL), and one multi-row INSERT can carry
    the output of every run of a worker at once."""

    id = fields.BigIntField(primary_key=True)
    execution: fields.ForeignKeyRelation[Execution] = fields.ForeignKeyField(
        "models.Execution", related_name="output_batches", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    last_seq = fields.IntField()
    stream = fields.CharField(max_length=8)
    data = fields.TextField()

    execution_id: str

    class Meta:
        table = "execution_output"
        unique_together = (("execution_id", "seq"),)


class WorkerHeartbeat(Model):
    """A worker process says it is alive. A worker silent for longer than the
    lost-after interval is dead: its RUNNING executions end WORKER_LOST."""

    name = fields.CharField(max_length=128, primary_key=True)
    last_seen = fields.DatetimeField()
    started_at = fields.DatetimeField()
    # What it said in its last heartbeat: its tags (SCRIPTBOX_WORKER_TAGS,
    # without its name, which is a tag of every worker) and how many runs it
    # takes at once. Read to place runs and to show the fleet to admins.
    # Nullable so the column can join a table of live workers' rows.
    tags: fields.Field[list[str] | None] = fields.JSONField(null=True)
    concurrency = fields.IntField(default=1)

    class Meta:
        table = "worker_heartbeats"
