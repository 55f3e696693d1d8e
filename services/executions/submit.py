"""What every submission must pass before a row is queued, whoever submits:
`runScript` and the REST path, a schedule's tick, a batch. The checks are
made here once, so no path queues what another would refuse.

- the input: valid JSON, at most `max_input_bytes`;
- the timeout: above 0, at most `max_timeout_seconds` (default otherwise);
- the run files: few enough, distinct, the caller's, within the byte cap;
- unsaved code (`runCode`): the size cap and the syntax check of a saved
  script, and no NUL character (no database text column may hold one);
- the per-user cap: at most `max_queued_per_user` of one user's runs queued
  or running at once (batches have a cap of their own: their executions wait
  under the batch's concurrency, see services/batches.py).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from tortoise import connections

from core.errors import BadUserInput, InvalidScript, NotFound, PayloadTooLarge, RateLimited
from core.languages import Language
from core.settings import Settings
from core.statuses import ExecutionStatus
from models.executions import Execution
from models.files import StoredFile
from models.sql import parameter
from services.files import run_file_names
from services.script_check import check_script

PENDING = [ExecutionStatus.QUEUED, ExecutionStatus.RUNNING]


def encode_input(value: Any, max_bytes: int) -> str:
    """`value` as the JSON text a run is given."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadUserInput(f"The input is not valid JSON: {exc}") from None
    check_input_size(text, max_bytes)
    return text


def check_input_size(text: str, max_bytes: int) -> None:
    size = len(text.encode())
    if size > max_bytes:
        raise BadUserInput(
            f"The input is {size} bytes; at most {max_bytes} are allowed.", maxBytes=max_bytes
        )


@dataclass(frozen=True)
class CodeToRun:
    """Code given to `runCode`: not in the tree, kept with its execution."""

    language: Language
    content: str

    @property
    def data(self) -> bytes:
        return self.content.encode()

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


# The name a run of unsaved code is checked under (Python names it in its
# syntax errors).
CODE_NAMES = {Language.PYTHON: "code.py", Language.SHELL: "code.sh", Language.JAVASCRIPT: "code.js"}


async def check_code(settings: Settings, code: CodeToRun) -> None:
    if code.size > settings.max_script_bytes:
        raise PayloadTooLarge(
            f"Scripts may be at most {settings.max_script_bytes} bytes (this one is {code.size})."
        )
    if "\0" in code.content:
        raise InvalidScript("Code must not contain NUL characters.", line=None)
    await check_script(code.language, CODE_NAMES[code.language], code.content)


def checked_timeout(settings: Settings, timeout_seconds: float | None) -> float:
    if timeout_seconds is None:
        return settings.default_timeout_seconds
    if not 0 < timeout_seconds <= settings.max_timeout_seconds:
        raise BadUserInput(
            f"timeoutSeconds must be above 0 and at most {settings.max_timeout_seconds:g}.",
            maxTimeoutSeconds=settings.max_timeout_seconds,
        )
    return float(timeout_seconds)


async def checked_files(settings: Settings, owner_id: str, keys: list[str]) -> list[str]:
    if not keys:
        return keys  # the common case, without a query on every submission
    if len(keys) > settings.max_run_files:
        raise BadUserInput(f"A run may take at most {settings.max_run_files} files.")
    if len(set(keys)) != len(keys):
        raise BadUserInput("The same file is given twice.")
    run_file_names(keys)
    sizes: dict[str, int] = {
        str(key): int(size)
        for key, size in await StoredFile.filter(owner_id=owner_id, key__in=keys).values_list(
            "key", "size"
        )
    }
    for key in keys:
        if key not in sizes:
            raise NotFound(f"No file with key '{key}'.")
    # Refused here, before a row is queued, rather than only by the worker
    # (which checks again: a file may be replaced meanwhile).
    cap = settings.max_run_files_bytes
    if sum(sizes.values()) > cap:
        raise BadUserInput(f"The files of one run may total at most {cap} bytes.")
    return keys


@cache
def _pending_statement(dialect: str) -> str:
    """A user's runs queued or running outside batches. Written out: every
    submission counts, and Tortoise would build the query each time."""
    mark = parameter(dialect, 1)
    statuses = ", ".join(f"'{status.value}'" for status in PENDING)
    return (
        f'SELECT COUNT(*) AS pending FROM "{Execution._meta.db_table}" '
        f'WHERE "owner_id" = {mark} AND "status" IN ({statuses}) AND "batch_id" IS NULL'
    )


async def check_queue_cap(settings: Settings, user_id: str | uuid.UUID) -> None:
    """Running ones count too: otherwise the worker's slots are a free
    allowance on top of the limit."""
    connection = connections.get("default")
    # A UUID column, written as Tortoise writes one: its text.
    rows = await connection.execute_query_dict(
        _pending_statement(connection.capabilities.dialect), [str(user_id)]
    )
    pending = int(rows[0]["pending"])
    if pending >= settings.max_queued_per_user:
        raise RateLimited(
            f"You have {pending} executions queued or running; wait for some to finish.",
            maxQueued=settings.max_queued_per_user,
        )
