"""A run's output kept in object storage instead of its row, past a size.

A chatty run can print megabytes; in its row that would make every read of
the executions table (and every backup) carry them. Past `inline_bytes`
(stdout and stderr together, in UTF-8) both streams go to one object, the
row keeps its key and size and empty `stdout`/`stderr`, and readers get the
text back through `output_of` without knowing where it lay.

Each write gets a fresh key under the execution's prefix: two writers that
end one row at once (its worker and the sweeper of lost workers) never
overwrite each other's object, and the one whose UPDATE lost discards its
own. Whatever lies under the prefix goes with the execution (retention)."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from models.executions import Execution
from storage import ObjectNotFound, ObjectStore

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/json"


def output_prefix(execution_id: object) -> str:
    return f"outputs/{execution_id}/"


@dataclass(frozen=True)
class KeptOutput:
    """Where one run's output went: the row's columns to write with its end."""

    stdout: str
    stderr: str
    key: str | None = None
    stored_bytes: int | None = None

    def columns(self) -> dict[str, Any]:
        return {
            "stdout": self.stdout,
            "stderr": self.stderr,
            "output_key": self.key,
            "output_stored_bytes": self.stored_bytes,
        }


class OutputArchive:
    def __init__(self, store: ObjectStore | None, inline_bytes: int) -> None:
        """`store` None: every output stays in its row (a process that never
        ends runs, such as an admin command, needs no store for this)."""
        self._store = store
        self._inline_bytes = inline_bytes

    async def keep(self, execution_id: object, stdout: str, stderr: str) -> KeptOutput:
        """Store the output if it is too large for the row."""
        size = len(stdout.encode()) + len(stderr.encode())
        if self._store is None or size <= self._inline_bytes:
            return KeptOutput(stdout, stderr)
        key = f"{output_prefix(execution_id)}{uuid.uuid4().hex}.json"
        body = json.dumps({"stdout": stdout, "stderr": stderr}).encode()
        await self._store.put_bytes(key, body, CONTENT_TYPE)
        return KeptOutput("", "", key, size)

    async def discard(self, kept: KeptOutput) -> None:
        """The row was not ended with this output after all."""
        if kept.key is not None and self._store is not None:
            await self._store.delete(kept.key)

    async def output_of(self, row: Execution) -> tuple[str, str]:
        """stdout and stderr of an ended row, wherever they lie."""
        if row.output_key is None:
            return row.stdout, row.stderr
        if self._store is None:
            raise RuntimeError("the output of this execution is in object storage")
        try:
            stored = json.loads(await self._store.get_bytes(row.output_key))
        except ObjectNotFound:
            # Its execution is being deleted: objects go before rows.
            log.warning("the stored output of execution %s is gone", row.id)
            return "", ""
        return str(stored["stdout"]), str(stored["stderr"])
