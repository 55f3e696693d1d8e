"""Following one run to its end: the subscription replays what was printed,
then streams live output (stdout to stdout, stderr to stderr, in the order
the script wrote them), then the terminal event; a retry's events follow on
the same subscription. The run's ending becomes the exit code
(client/outcomes.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from typing import Any

from client.errors import CliError
from client.outcomes import ExitCode
from client.ws import subscribe

UPDATES = """
subscription($id: ID!) {
  executionUpdates(executionId: $id) {
    executionId status stream data nextAttemptId
    execution { id status exitCode result error { code message } }
  }
}
"""


@dataclass(frozen=True)
class Ending:
    execution_id: str
    status: str
    exit_code: int | None
    error_code: str | None
    error_message: str | None
    result: Any


def exit_code_of(ending: Ending) -> int:
    """The script's own exit code when it ran to its end; otherwise a code per ending."""
    if ending.status == "SUCCEEDED":
        return ending.exit_code or ExitCode.OK
    if ending.status == "TIMED_OUT":
        return ExitCode.TIMED_OUT
    if ending.status == "CANCELLED":
        return ExitCode.CANCELLED
    if ending.exit_code:  # FAILED with the script's own code
        return ending.exit_code
    return ExitCode.FAILED_BEFORE_START


def ending_of(execution: dict[str, Any]) -> Ending:
    error = execution.get("error") or {}
    return Ending(
        execution_id=str(execution["id"]),
        status=str(execution["status"]),
        exit_code=execution.get("exitCode"),
        error_code=error.get("code"),
        error_message=error.get("message"),
        result=execution.get("result"),
    )


# While the run waits for a worker: a spinner on a terminal, nothing otherwise.
Waiting = Callable[[], AbstractContextManager[object]]


def follow(url: str, token: str, execution_id: str, waiting: Waiting | None = None) -> Ending:
    ending: Ending | None = None
    with ExitStack() as queued:
        queued.enter_context((waiting or nullcontext)())
        for data in subscribe(url, token, UPDATES, {"id": execution_id}):
            event = data["executionUpdates"]
            if event["status"] != "QUEUED":
                queued.close()  # the spinner stops once the run has started
            if event.get("data") is not None:
                stream = sys.stderr if event.get("stream") == "STDERR" else sys.stdout
                stream.write(event["data"])
                stream.flush()
            if event.get("execution") is not None and event.get("nextAttemptId") is None:
                ending = ending_of(event["execution"])
    if ending is None:
        raise CliError(
            f"the updates of {execution_id} ended before the run did; "
            f"see `scriptbox logs {execution_id}`",
            ExitCode.UNREACHABLE,
        )
    return ending
