"""A script's `maxConcurrentRuns` and retries with several `scriptbox worker`
processes on one PostgreSQL: the limit holds across workers that claim at
the same moment (each of which could run several at once), and a retry of a
run whose worker died is a queued row that another worker picks up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import GraphQLClient, registered
from tests.support.deadlines import eventually
from tests.support.processes import ServiceProcess
from tests.support.scale_out import api_process, shared_environment, stop_all, worker_process

WORKERS = 2
SLOTS_PER_WORKER = 2
RUN = "mutation($input: RunScriptInput!) { runScript(input: $input) { id } }"
RUNS = """query($s: ID!) { executions(scriptId: $s, first: 50) {
  id status attempt input startedAt error { code } retryOf { id } } }"""
SLEEPER = "import time\ndef main(data):\n    time.sleep(data['sleep'])\n    return data['n']\n"


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with shared_environment(
        tmp_path,
        SCRIPTBOX_WARM_POOL_SIZE="1",
        SCRIPTBOX_WORKER_CONCURRENCY=str(SLOTS_PER_WORKER),
    ) as base:
        api = api_process(base)
        workers = [
            worker_process(base, f"limits-{tmp_path.name[-12:]}-w{i}") for i in range(WORKERS)
        ]
        api.start()
        for worker in workers:
            worker.start()
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                client = await registered(GraphQLClient(api.url, None, http), "limits")
                yield {
                    "client": client,
                    "workers": {w.env["SCRIPTBOX_WORKER_NAME"]: w for w in workers},
                }
        finally:
            stop_all([api, *workers])


async def create(client: GraphQLClient, name: str, limit: int | None) -> str:
    body = await client.data(
        "mutation($input: CreateScriptInput!) { createScript(input: $input) { id } }",
        {"input": {"name": name, "content": SLEEPER, "maxConcurrentRuns": limit}},
    )
    script_id: str = body["createScript"]["id"]
    return script_id


async def test_a_limit_of_one_holds_across_two_workers(cluster: dict[str, Any]) -> None:
    client: GraphQLClient = cluster["client"]
    script_id = await create(client, "one.py", 1)
    total = WORKERS * SLOTS_PER_WORKER + 1
    ids = [
        (await client.data(RUN, {"input": {"scriptId": script_id, "input": {"n": n, "sleep": 1}}}))[
            "runScript"
        ]["id"]
        for n in range(total)
    ]
    most_running = 0

    async def all_ended() -> list[dict[str, Any]] | None:
        nonlocal most_running
        runs: list[dict[str, Any]] = (await client.data(RUNS, {"s": script_id}))["executions"]
        most_running = max(most_running, sum(r["status"] == "RUNNING" for r in runs))
        return runs if all(r["status"] == "SUCCEEDED" for r in runs) else None

    runs = await eventually(all_ended, "every run ends", every=0.05)
    assert most_running == 1
    by_id = {r["id"]: r for r in runs}
    started = [datetime.fromisoformat(by_id[i]["startedAt"]) for i in ids]
    assert started == sorted(started), "the runs started out of order"
    claimed_by = {
        name: worker.output().count("claimed execution")
        for name, worker in cluster["workers"].items()
    }
    assert sum(claimed_by.values()) == total


async def test_a_run_whose_worker_died_is_retried_by_another(cluster: dict[str, Any]) -> None:
    client: GraphQLClient = cluster["client"]
    workers: dict[str, ServiceProcess] = cluster["workers"]
    script_id = await create(client, "survivor.py", None)
    first = (
        await client.data(
            RUN,
            {
                "input": {
                    "scriptId": script_id,
                    "input": {"n": 7, "sleep": 4},
                    "retry": {"maxAttempts": 2, "backoffSeconds": 0, "on": ["WORKER_LOST"]},
                }
            },
        )
    )["runScript"]["id"]

    async def runner() -> str | None:
        for name, worker in workers.items():
            if f"claimed execution {first}" in worker.output():
                return name
        return None

    victim = await eventually(runner, "a worker claims the run")
    workers[victim].kill()

    async def retried() -> list[dict[str, Any]] | None:
        runs: list[dict[str, Any]] = (await client.data(RUNS, {"s": script_id}))["executions"]
        done = [r for r in runs if r["status"] == "SUCCEEDED"]
        return runs if done else None

    runs = await eventually(retried, "the retry succeeds")
    by_attempt = {r["attempt"]: r for r in runs}
    assert by_attempt[1]["error"]["code"] == "WORKER_LOST"
    assert by_attempt[2]["status"] == "SUCCEEDED"
    assert by_attempt[2]["retryOf"] == {"id": first}
    survivor = next(name for name in workers if name != victim)
    assert f"claimed execution {by_attempt[2]['id']}" in workers[survivor].output()
