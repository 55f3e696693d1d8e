"""The restart policies and the backoff between restarts."""

from __future__ import annotations

import pytest

from core.service_states import RestartPolicy, backoff_seconds


@pytest.mark.parametrize(
    ("policy", "exit_code", "restarts"),
    [
        (RestartPolicy.NEVER, 0, False),
        (RestartPolicy.NEVER, 1, False),
        (RestartPolicy.ON_FAILURE, 0, False),
        (RestartPolicy.ON_FAILURE, 3, True),
        (RestartPolicy.ON_FAILURE, None, True),  # killed: no exit code
        (RestartPolicy.ALWAYS, 0, True),
        (RestartPolicy.ALWAYS, 137, True),
    ],
)
def test_which_ends_restart(policy: RestartPolicy, exit_code: int | None, restarts: bool) -> None:
    assert policy.restarts_after(exit_code) is restarts


def test_the_backoff_doubles_up_to_its_ceiling() -> None:
    waits = [backoff_seconds(n, 1.0, 60.0) for n in range(8)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
