"""The moves of an execution's status (core/statuses.py): every pair of
statuses, allowed or refused, and where a new row may start."""

from __future__ import annotations

import itertools

import pytest

from core.statuses import (
    ALLOWED_MOVES,
    TERMINAL_STATUSES,
    ExecutionStatus,
    ForbiddenMove,
    check_initial,
    check_move,
)

QUEUED = ExecutionStatus.QUEUED
RUNNING = ExecutionStatus.RUNNING
SUCCEEDED = ExecutionStatus.SUCCEEDED
FAILED = ExecutionStatus.FAILED
TIMED_OUT = ExecutionStatus.TIMED_OUT
CANCELLED = ExecutionStatus.CANCELLED

# Written out, not derived from ALLOWED_MOVES: this is the lifecycle.
ALLOWED = {
    (QUEUED, RUNNING),  # a worker claims it
    (QUEUED, CANCELLED),  # cancelled before it started
    (RUNNING, SUCCEEDED),
    (RUNNING, FAILED),
    (RUNNING, TIMED_OUT),
    (RUNNING, CANCELLED),
}
EVERY_PAIR = list(itertools.product(ExecutionStatus, repeat=2))


@pytest.mark.parametrize(("old", "new"), sorted(ALLOWED))
def test_allowed_moves(old: ExecutionStatus, new: ExecutionStatus) -> None:
    check_move(old, new)


@pytest.mark.parametrize(("old", "new"), [pair for pair in EVERY_PAIR if pair not in ALLOWED])
def test_refused_moves(old: ExecutionStatus, new: ExecutionStatus) -> None:
    with pytest.raises(ForbiddenMove, match=f"from {old.name} to {new.name}"):
        check_move(old, new)


def test_the_table_holds_exactly_the_allowed_moves() -> None:
    assert {(old, new) for old, targets in ALLOWED_MOVES.items() for new in targets} == ALLOWED


@pytest.mark.parametrize("status", TERMINAL_STATUSES)
def test_nothing_leaves_a_terminal_status(status: ExecutionStatus) -> None:
    assert status.is_terminal
    assert ALLOWED_MOVES[status] == frozenset()


def test_queued_and_running_are_not_terminal() -> None:
    assert [s for s in ExecutionStatus if not s.is_terminal] == [QUEUED, RUNNING]


@pytest.mark.parametrize("status", [QUEUED, FAILED])
def test_a_new_row_starts_queued_or_refused(status: ExecutionStatus) -> None:
    check_initial(status)


@pytest.mark.parametrize("status", [RUNNING, SUCCEEDED, TIMED_OUT, CANCELLED])
def test_a_new_row_cannot_start_elsewhere(status: ExecutionStatus) -> None:
    with pytest.raises(ForbiddenMove, match=f"cannot start {status.name}"):
        check_initial(status)


def test_the_status_values_clients_and_the_table_see_stay_the_same() -> None:
    assert [s.value for s in ExecutionStatus] == [
        "queued",
        "running",
        "succeeded",
        "failed",
        "timed_out",
        "cancelled",
    ]
