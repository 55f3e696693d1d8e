"""Retries and a script's concurrency limit against the served process in
both shapes: a failing run retried until it succeeds, followed from its
first attempt over graphql-transport-ws, and runs of a limited script one
at a time."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually
from tests.support.ws import subscription_client

CREATE = """mutation($input: CreateScriptInput!) { createScript(input: $input) { id } }"""
RUN = "mutation($input: RunScriptInput!) { runScript(input: $input) { id status attempt } }"
FOLLOW = """subscription($id: ID!) { executionUpdates(executionId: $id) {
  executionId status stream nextAttemptId execution { attempt result } } }"""
RUNS = "query($s: ID!) { executions(scriptId: $s) { id status } }"
SECOND_TIME_LUCKY = """import os

def main(data):
    if os.environ["SCRIPTBOX_ATTEMPT"] == "1":
        raise RuntimeError("the first attempt fails")
    return data
"""
SLEEPER = "import time\ndef main(data):\n    time.sleep(1)\n"


async def create(client: GraphQLClient, name: str, content: str, **extra: Any) -> str:
    body = await client.data(CREATE, {"input": {"name": name, "content": content, **extra}})
    script_id: str = body["createScript"]["id"]
    return script_id


async def test_a_retried_run_followed_from_its_first_attempt(alice: GraphQLClient) -> None:
    script_id = await create(alice, "flaky.py", SECOND_TIME_LUCKY)
    first = (
        await alice.data(
            RUN,
            {
                "input": {
                    "scriptId": script_id,
                    "input": {"ok": True},
                    "retry": {"maxAttempts": 2, "backoffSeconds": 0.5},
                }
            },
        )
    )["runScript"]
    async with subscription_client(alice.base_url, alice.token) as ws:
        events = [e["executionUpdates"] for e in await ws.collect(FOLLOW, {"id": first["id"]})]
    ends = [e for e in events if e["execution"] is not None]
    assert [e["status"] for e in ends] == ["FAILED", "SUCCEEDED"]
    assert ends[0]["executionId"] == first["id"]
    assert ends[0]["nextAttemptId"] == ends[1]["executionId"] != first["id"]
    assert ends[1]["execution"] == {"attempt": 2, "result": {"ok": True}}


async def test_a_limited_script_runs_one_at_a_time(alice: GraphQLClient) -> None:
    script_id = await create(alice, "single.py", SLEEPER, maxConcurrentRuns=1)
    for _ in range(3):
        await alice.data(RUN, {"input": {"scriptId": script_id}})
    most_running = 0

    async def all_ended() -> bool:
        nonlocal most_running
        runs = (await alice.data(RUNS, {"s": script_id}))["executions"]
        most_running = max(most_running, sum(r["status"] == "RUNNING" for r in runs))
        return all(r["status"] == "SUCCEEDED" for r in runs)

    await eventually(all_ended, "the runs end", every=0.05)
    assert most_running == 1
