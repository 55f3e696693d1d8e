"""A run by path with runScript's retry policy: the answer is the last
attempt's; a policy out of bounds is refused and runs nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.tree import script

# Fails its first attempt, succeeds on the next.
FLAKY = (
    "import os\n"
    "def main(data):\n"
    "    attempt = int(os.environ['SCRIPTBOX_ATTEMPT'])\n"
    "    if attempt == 1:\n"
    "        raise RuntimeError('first try')\n"
    "    return {'attempt': attempt}\n"
)
ATTEMPTS = "{ executions(first: 10) { id attempt status } }"


async def run(client: GraphQLClient, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.http.post(
        f"{client.base_url}/api/v1/scripts/flaky.py", headers=client.headers(), json=body
    )
    answer: dict[str, Any] = response.json()
    return response.status_code, answer


async def test_a_failed_attempt_is_retried_and_the_last_one_answers(alice: GraphQLClient) -> None:
    await script(alice, "flaky.py", FLAKY)
    status, once = await run(alice, {"data": {}})
    assert status == 422, once
    assert (once["success"], once["attempt"]) == (False, 1)

    status, retried = await run(
        alice, {"data": {}, "retry": {"max_attempts": 2, "backoff_seconds": 0, "on": ["failed"]}}
    )
    assert status == 200, retried
    assert (retried["result"], retried["attempt"]) == ({"attempt": 2}, 2)
    rows = {row["id"]: row for row in (await alice.data(ATTEMPTS))["executions"]}
    assert rows[retried["execution_id"]]["status"] == "SUCCEEDED"
    assert sorted((row["attempt"], row["status"]) for row in rows.values()) == [
        (1, "FAILED"),
        (1, "FAILED"),
        (2, "SUCCEEDED"),
    ]


@pytest.mark.parametrize(
    ("retry", "names"),
    [
        ({"max_attempts": 11}, "max_attempts"),
        ({"max_attempts": 2, "backoff_seconds": -1}, "backoff_seconds"),
        ({"max_attempts": 2, "on": ["crashed"]}, "retry.on"),
        ({"max_attempts": "2"}, "max_attempts"),
        ({"maxAttempts": 2}, "max_attempts"),
        ({"max_attempts": 2, "on": []}, "retry.on"),
        (3, "retry"),
    ],
)
async def test_a_policy_out_of_bounds_is_refused_and_runs_nothing(
    alice: GraphQLClient, retry: Any, names: str
) -> None:
    await script(alice, "flaky.py", FLAKY)
    status, refused = await run(alice, {"data": {}, "retry": retry})
    assert (status, refused["error"]["code"]) == (400, "BAD_USER_INPUT"), refused
    assert names in refused["error"]["message"]
    assert (await alice.data(ATTEMPTS))["executions"] == []
