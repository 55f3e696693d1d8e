"""Retry policies and concurrency choices: what a run may be tried again on,
and how a schedule's tick treats a run of it still going.

Off unless asked for: a script may have side effects, so nothing runs twice
without its caller saying so. A policy is bounded (attempts and backoff) so a
failing script cannot keep a worker busy for ever. It travels as JSON on each
attempt's row, so a worker that ends an attempt needs nothing else to decide
on the next one, in whichever process it runs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.codes import ExecutionErrorCode
from core.errors import BadUserInput
from core.statuses import ExecutionStatus

MAX_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 3600.0
DEFAULT_BACKOFF_SECONDS = 5.0
# A script's own cap on runs at once; far above any worker pool.
MAX_CONCURRENT_RUNS = 1000


class RetryOutcome(StrEnum):
    """An ending a policy may retry. WORKER_LOST is apart from FAILED: the
    script may have done its work before its worker died."""

    FAILED = "failed"
    TIMED_OUT = "timed_out"
    WORKER_LOST = "worker_lost"


class OverlapPolicy(StrEnum):
    """What a schedule's tick does while an earlier run of it is queued or running."""

    SKIP = "skip"  # fires nothing this time
    QUEUE = "queue"  # queues a run that starts once the earlier ones ended
    RUN_ANYWAY = "run_anyway"  # queues a run that may start at once


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    on: frozenset[RetryOutcome] = frozenset(RetryOutcome)

    @classmethod
    def checked(
        cls, max_attempts: int, backoff_seconds: float | None, on: list[RetryOutcome] | None
    ) -> RetryPolicy:
        """A policy from a client's input, or BAD_USER_INPUT past the bounds."""
        if not 1 <= max_attempts <= MAX_ATTEMPTS:
            raise BadUserInput(
                f"retry.maxAttempts must be between 1 and {MAX_ATTEMPTS}.",
                maxAttempts=MAX_ATTEMPTS,
            )
        backoff = DEFAULT_BACKOFF_SECONDS if backoff_seconds is None else float(backoff_seconds)
        if not 0 <= backoff <= MAX_BACKOFF_SECONDS:
            raise BadUserInput(
                f"retry.backoffSeconds must be between 0 and {MAX_BACKOFF_SECONDS:g}.",
                maxBackoffSeconds=MAX_BACKOFF_SECONDS,
            )
        if on is not None and not on:
            raise BadUserInput("retry.on lists no outcome; leave `retry` out to never retry.")
        return cls(max_attempts, backoff, frozenset(RetryOutcome) if on is None else frozenset(on))

    def to_json(self) -> dict[str, Any]:
        return {
            "maxAttempts": self.max_attempts,
            "backoffSeconds": self.backoff_seconds,
            "on": sorted(outcome.value for outcome in self.on),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> RetryPolicy | None:
        if not value:
            return None
        return cls(
            int(value["maxAttempts"]),
            float(value["backoffSeconds"]),
            frozenset(RetryOutcome(outcome) for outcome in value["on"]),
        )

    def retries(self, attempt: int, status: ExecutionStatus, error_code: str | None) -> bool:
        """Whether attempt number `attempt`, ended so, is followed by another."""
        outcome = outcome_of(status, error_code)
        return outcome is not None and outcome in self.on and attempt < self.max_attempts


def outcome_of(status: ExecutionStatus, error_code: str | None) -> RetryOutcome | None:
    if status is ExecutionStatus.TIMED_OUT:
        return RetryOutcome.TIMED_OUT
    if status is ExecutionStatus.FAILED:
        if error_code == ExecutionErrorCode.WORKER_LOST:
            return RetryOutcome.WORKER_LOST
        return RetryOutcome.FAILED
    return None


def checked_max_concurrent_runs(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_CONCURRENT_RUNS:
        raise BadUserInput(
            f"maxConcurrentRuns must be between 1 and {MAX_CONCURRENT_RUNS}, or null.",
            maxConcurrentRuns=MAX_CONCURRENT_RUNS,
        )
    return value
