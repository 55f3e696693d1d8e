"""Where an execution stands, and where it may go from there: one enum from
the table's column to the GraphQL enum and the bus events, and the moves
between its members written once, so that no writer of a row can invent one.

    (new) ──► QUEUED ──► RUNNING ──► SUCCEEDED | FAILED | TIMED_OUT | CANCELLED
                 └──────────────────► CANCELLED          (cancelled before it started)
    (new) ──► FAILED                 (refused before it could queue: a schedule's tick)

A terminal status is final: a row is never run again (it may have had side
effects), so nothing moves out of one. A retry the caller asked for is a new
row (services/executions/retries.py)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class ExecutionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self not in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)


TERMINAL_STATUSES = [s for s in ExecutionStatus if s.is_terminal]

# What a new row may start as: queued, or already failed when a submission
# that nobody waits for (a schedule's tick) was refused, so the refusal is
# on record where the user looks for the run.
INITIAL_STATUSES = frozenset({ExecutionStatus.QUEUED, ExecutionStatus.FAILED})

ALLOWED_MOVES: Mapping[ExecutionStatus, frozenset[ExecutionStatus]] = MappingProxyType(
    {
        ExecutionStatus.QUEUED: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED}),
        ExecutionStatus.RUNNING: frozenset(TERMINAL_STATUSES),
        **{status: frozenset() for status in TERMINAL_STATUSES},
    }
)


class ForbiddenMove(ValueError):
    """A writer asked for a change of status the lifecycle does not have: a
    bug in that writer, never something a client can cause."""


def check_initial(status: ExecutionStatus) -> None:
    if status not in INITIAL_STATUSES:
        raise ForbiddenMove(f"an execution cannot start {status.name}")


def check_move(old: ExecutionStatus, new: ExecutionStatus) -> None:
    if new not in ALLOWED_MOVES[old]:
        raise ForbiddenMove(f"an execution cannot move from {old.name} to {new.name}")
