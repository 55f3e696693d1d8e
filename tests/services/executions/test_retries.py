"""Retry policies through GraphQL, on SQLite and PostgreSQL: each attempt is
an execution of its own, linked to the first; a subscription to the first
follows the chain; a policy retries only the outcomes it lists."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually
from tests.support.servers import Service
from tests.support.tree import script
from tests.support.ws import subscription_client

pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

ATTEMPT_FIELDS = """id status attempt result error { code } retryOf { id }
  nextAttempt { id attempt } waitingFor"""
RUN = f"""mutation($input: RunScriptInput!) {{ runScript(input: $input) {{ {ATTEMPT_FIELDS} }} }}"""
GET = f"""query($id: ID!) {{ execution(id: $id) {{ {ATTEMPT_FIELDS}
  nextAttempt {{ id attempt nextAttempt {{ id attempt status }} }} }} }}"""
FOLLOW = """subscription($id: ID!) { executionUpdates(executionId: $id) {
  executionId status stream nextAttemptId execution { status attempt } } }"""

# Fails until its third attempt: the attempt number is the script's to read.
THIRD_TIME_LUCKY = """import os

def main(data):
    attempt = int(os.environ["SCRIPTBOX_ATTEMPT"])
    if attempt < 3:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt
"""
SLOW = "import time\ndef main(data):\n    time.sleep(30)\n"


async def run(client: GraphQLClient, script_id: str, **extra: Any) -> dict[str, Any]:
    body = await client.data(RUN, {"input": {"scriptId": script_id, **extra}})
    result: dict[str, Any] = body["runScript"]
    return result


async def test_fails_twice_then_succeeds_on_the_third_attempt(alice: GraphQLClient) -> None:
    created = await script(alice, "lucky.py", THIRD_TIME_LUCKY)
    first = await run(
        alice, created["id"], retry={"maxAttempts": 3, "backoffSeconds": 0}, wait=False
    )
    assert first["attempt"] == 1 and first["retryOf"] is None

    async with subscription_client(alice.base_url, alice.token) as ws:
        events = [e["executionUpdates"] for e in await ws.collect(FOLLOW, {"id": first["id"]})]

    ends = [e for e in events if e["stream"] is None and e["status"] not in ("QUEUED", "RUNNING")]
    assert [(e["status"], e["execution"]["attempt"]) for e in ends] == [
        ("FAILED", 1),
        ("FAILED", 2),
        ("SUCCEEDED", 3),
    ]
    # Each end says where the stream goes next, and the events after it are that attempt's.
    assert ends[0]["executionId"] == first["id"]
    assert ends[0]["nextAttemptId"] == ends[1]["executionId"]
    assert ends[1]["nextAttemptId"] == ends[2]["executionId"]
    assert ends[2]["nextAttemptId"] is None

    chain = (await alice.data(GET, {"id": first["id"]}))["execution"]
    assert chain["status"] == "FAILED" and chain["error"]["code"] == "SCRIPT_ERROR"
    second = chain["nextAttempt"]
    assert second["attempt"] == 2
    last = second["nextAttempt"]
    assert (last["attempt"], last["status"]) == (3, "SUCCEEDED")
    final = (await alice.data(GET, {"id": last["id"]}))["execution"]
    assert final["result"] == 3
    assert final["retryOf"] == {"id": first["id"]}
    assert final["nextAttempt"] is None


async def test_wait_answers_with_the_last_attempt(alice: GraphQLClient) -> None:
    created = await script(alice, "lucky-wait.py", THIRD_TIME_LUCKY)
    last = await run(alice, created["id"], retry={"maxAttempts": 3, "backoffSeconds": 0}, wait=True)
    assert (last["status"], last["attempt"], last["result"]) == ("SUCCEEDED", 3, 3)
    assert last["retryOf"] is not None


async def test_without_a_policy_a_failure_is_final(alice: GraphQLClient) -> None:
    created = await script(alice, "once.py", THIRD_TIME_LUCKY)
    only = await run(alice, created["id"], wait=True)
    assert (only["status"], only["attempt"], only["nextAttempt"]) == ("FAILED", 1, None)


async def test_a_policy_without_timed_out_does_not_retry_a_timeout(alice: GraphQLClient) -> None:
    created = await script(alice, "slow.py", SLOW)
    not_listed = await run(
        alice,
        created["id"],
        timeoutSeconds=1,
        retry={"maxAttempts": 3, "backoffSeconds": 0, "on": ["FAILED", "WORKER_LOST"]},
        wait=True,
    )
    assert (not_listed["status"], not_listed["attempt"]) == ("TIMED_OUT", 1)
    assert not_listed["nextAttempt"] is None

    listed = await run(
        alice,
        created["id"],
        timeoutSeconds=1,
        retry={"maxAttempts": 2, "backoffSeconds": 0, "on": ["TIMED_OUT"]},
        wait=True,
    )
    assert (listed["status"], listed["attempt"]) == ("TIMED_OUT", 2)


async def test_a_retry_waits_for_its_backoff_and_says_so(alice: GraphQLClient) -> None:
    created = await script(alice, "backoff.py", "def main(data):\n    raise SystemExit(3)\n")
    started = await run(alice, created["id"], retry={"maxAttempts": 2, "backoffSeconds": 3600})

    async def ended() -> dict[str, Any] | None:
        row: dict[str, Any] = (await alice.data(GET, {"id": started["id"]}))["execution"]
        return row if row["status"] == "FAILED" else None

    first = await eventually(ended, "the first attempt ends")
    retry = (await alice.data(GET, {"id": first["nextAttempt"]["id"]}))["execution"]
    assert retry["status"] == "QUEUED"
    assert retry["waitingFor"] is not None and "backoff" in retry["waitingFor"]
    # Cancelling the first attempt stops the retry that follows it.
    await alice.data("mutation($id: ID!) { cancelExecution(id: $id) { id } }", {"id": first["id"]})
    retry = (await alice.data(GET, {"id": retry["id"]}))["execution"]
    assert retry["status"] == "CANCELLED"


@pytest.mark.parametrize(
    "policy",
    [
        {"maxAttempts": 11},
        {"maxAttempts": 0},
        {"maxAttempts": 3, "backoffSeconds": 3601},
        {"maxAttempts": 3, "backoffSeconds": -1},
        {"maxAttempts": 3, "on": []},
    ],
)
async def test_a_policy_out_of_bounds_is_refused(
    alice: GraphQLClient, policy: dict[str, Any]
) -> None:
    created = await script(alice, f"bounds-{abs(hash(str(policy)))}.py", "pass\n")
    error = await alice.error(RUN, {"input": {"scriptId": created["id"], "retry": policy}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    runs = await alice.data(
        "query($s: ID) { executions(scriptId: $s) { id } }", {"s": created["id"]}
    )
    assert runs["executions"] == []


RUN_BATCH = """mutation($s: ID!, $inputs: [JSON!]!, $retry: RetryPolicy) {
  runBatch(scriptId: $s, inputs: $inputs, concurrency: 2, retry: $retry) { id } }"""
BATCH = """query($id: ID!) { batch(id: $id) { finished counts { status count }
  executions { attempt status result retryOf { id } } } }"""


async def test_a_batch_retries_each_input_and_shows_its_last_attempt(
    alice: GraphQLClient,
) -> None:
    created = await script(alice, "lucky-batch.py", THIRD_TIME_LUCKY)
    batch_id = (
        await alice.data(
            RUN_BATCH,
            {
                "s": created["id"],
                "inputs": [{"n": 1}, {"n": 2}],
                "retry": {"maxAttempts": 3, "backoffSeconds": 0},
            },
        )
    )["runBatch"]["id"]

    async def finished() -> dict[str, Any] | None:
        batch: dict[str, Any] = (await alice.data(BATCH, {"id": batch_id}))["batch"]
        return batch if batch["finished"] else None

    batch = await eventually(finished, "the batch finishes")
    assert [c for c in batch["counts"] if c["count"]] == [{"status": "SUCCEEDED", "count": 2}]
    assert [(e["attempt"], e["status"], e["result"]) for e in batch["executions"]] == [
        (3, "SUCCEEDED", 3),
        (3, "SUCCEEDED", 3),
    ]
    assert all(e["retryOf"] is not None for e in batch["executions"])


CREATE_SCHEDULE = """mutation($input: CreateScheduleInput!) {
  createSchedule(input: $input) { id nextRunAt retry { maxAttempts backoffSeconds on } } }"""


async def test_a_schedule_passes_its_policy_to_each_run(
    alice: GraphQLClient, service: Service
) -> None:
    created = await script(alice, "lucky-schedule.py", THIRD_TIME_LUCKY)
    schedule = (
        await alice.data(
            CREATE_SCHEDULE,
            {
                "input": {
                    "scriptId": created["id"],
                    # Due only on 29 February: the service's own ticker never fires it first.
                    "cron": "0 * 29 2 *",
                    "retry": {"maxAttempts": 3, "backoffSeconds": 0, "on": ["FAILED"]},
                }
            },
        )
    )["createSchedule"]
    try:
        assert schedule["retry"] == {"maxAttempts": 3, "backoffSeconds": 0.0, "on": ["FAILED"]}
        scheduler = service.process.scheduler
        assert scheduler is not None
        due = datetime.fromisoformat(schedule["nextRunAt"]) + timedelta(seconds=1)
        fired = [r for r in await scheduler.tick(due) if str(r.schedule_id) == schedule["id"]]
        assert len(fired) == 1

        async def last() -> dict[str, Any] | None:
            row: dict[str, Any] = (await alice.data(GET, {"id": str(fired[0].id)}))["execution"]
            third = (row["nextAttempt"] or {}).get("nextAttempt")
            return third if third and third["status"] == "SUCCEEDED" else None

        assert (await eventually(last, "the third attempt succeeds"))["attempt"] == 3
    finally:
        await alice.data("mutation($id: ID!) { deleteSchedule(id: $id) }", {"id": schedule["id"]})


RUN_CODE = """mutation($input: RunCodeInput!) { runCode(input: $input) {
  id status attempt result retryOf { id code { content } } code { content } } }"""


async def test_a_run_of_unsaved_code_is_retried_with_the_same_code(alice: GraphQLClient) -> None:
    last = (
        await alice.data(
            RUN_CODE,
            {
                "input": {
                    "language": "PYTHON",
                    "content": THIRD_TIME_LUCKY,
                    "retry": {"maxAttempts": 3, "backoffSeconds": 0},
                    "wait": True,
                }
            },
        )
    )["runCode"]
    assert (last["status"], last["attempt"], last["result"]) == ("SUCCEEDED", 3, 3)
    assert last["code"] == {"content": THIRD_TIME_LUCKY}
    assert last["retryOf"]["code"] == {"content": THIRD_TIME_LUCKY}
