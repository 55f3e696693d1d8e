"""The production shape on one machine: two API processes and three worker
processes on one PostgreSQL and one Redis, all on 127.0.0.1.

200 executions are submitted through both API processes; every one runs
exactly once, every subscriber on the *other* API process gets all output in
order and the terminal event, and a worker killed with SIGKILL mid-run leaves
no execution stuck in RUNNING (its runs end WORKER_LOST)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import GraphQLClient, registered
from tests.support.containers import owner_containers
from tests.support.processes import ServiceProcess
from tests.support.runs import UPDATES
from tests.support.scale_out import api_process, shared_environment, stop_all, worker_process
from tests.support.ws import subscription_client

TOTAL = 200
PER_CONNECTION = 50  # below Strawberry's 100 subscriptions per connection
SCRIPT = (
    "import time\n"
    "def main(data):\n"
    "    print('start', data['i'], flush=True)\n"
    "    time.sleep(data.get('sleep', 0.1))\n"
    "    print('end', data['i'], flush=True)\n"
    "    return data['i']\n"
)
RUN = "mutation($input: RunScriptInput!) { runScript(input: $input) { id } }"


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with shared_environment(
        tmp_path,
        SCRIPTBOX_MAX_QUEUED_PER_USER="1000",
        SCRIPTBOX_WARM_POOL_SIZE="2",
        SCRIPTBOX_WORKER_CONCURRENCY="2",
    ) as base:
        apis = [api_process(base) for _ in range(2)]
        workers = [worker_process(base, f"scale-{tmp_path.name[-12:]}-w{i}") for i in range(3)]
        apis[0].start()  # migrates first; the others find the schema in place
        apis[1].start()
        for worker in workers:
            worker.start()
        try:
            yield {
                "apis": apis,
                "workers": {w.env["SCRIPTBOX_WORKER_NAME"]: w for w in workers},
                "base": base,
            }
        finally:
            stop_all([*apis, *workers])


def liveness_story(workers: dict[str, ServiceProcess], wrongly_lost: set[str]) -> str:
    """What each worker logged about heartbeats and sweeps, and who claimed
    the runs that ended WORKER_LOST on a live worker: why a live worker was
    taken for dead."""
    lines = []
    for name, worker in workers.items():
        for line in worker.output().splitlines():
            if any(word in line for word in ("silent since", "heartbeat", "sweep")) or any(
                execution_id in line for execution_id in wrongly_lost
            ):
                lines.append(f"{name}: {line}")
    return "\n".join(lines)


async def follow(url: str, token: str, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    async with subscription_client(url, token) as ws:
        results = await asyncio.gather(
            *(ws.collect(UPDATES, {"id": execution_id}, timeout=180) for execution_id in ids)
        )
    return {
        i: [e["executionUpdates"] for e in events] for i, events in zip(ids, results, strict=True)
    }


async def test_two_apis_three_workers_exactly_once_and_a_killed_worker(
    cluster: dict[str, Any],
) -> None:
    api_a, api_b = cluster["apis"]
    workers: dict[str, ServiceProcess] = cluster["workers"]
    async with httpx.AsyncClient(timeout=60) as http:
        a = await registered(GraphQLClient(api_a.url, None, http), "scale")
        b = GraphQLClient(api_b.url, a.token, http)
        created = (
            await a.data(
                'mutation($c: String!) { createScript(input: {name: "fan.py", content: $c}) '
                "{ id } }",
                {"c": SCRIPT},
            )
        )["createScript"]

        # Long runs first, so the worker we kill is surely busy.
        long_ids = [
            (
                await b.data(
                    RUN, {"input": {"scriptId": created["id"], "input": {"i": -n - 1, "sleep": 30}}}
                )
            )["runScript"]["id"]
            for n in range(6)
        ]
        ids_via: dict[str, GraphQLClient] = {}
        for i in range(TOTAL - len(long_ids)):
            client = a if i % 2 == 0 else b
            body = await client.data(RUN, {"input": {"scriptId": created["id"], "input": {"i": i}}})
            ids_via[body["runScript"]["id"]] = client

        # Subscribe through the API process the execution was NOT queued through.
        groups: list[tuple[str, list[str]]] = []
        for client, other in ((a, api_b), (b, api_a)):
            mine = [i for i, c in ids_via.items() if c is client]
            for start in range(0, len(mine), PER_CONNECTION):
                groups.append((other.url, mine[start : start + PER_CONNECTION]))
        following = asyncio.gather(*(follow(url, a.token or "", ids) for url, ids in groups))

        # Kill one worker while it runs something.
        victim_name = None
        for _ in range(200):
            running = await a.data("{ executions(status: RUNNING, first: 50) { id } }")
            claimed = {name: w.output() for name, w in workers.items()}
            busy = [n for n, log in claimed.items() if any(i in log for i in long_ids)]
            if running["executions"] and busy:
                victim_name = busy[0]
                break
            await asyncio.sleep(0.1)
        assert victim_name is not None, "no worker picked up a long run"
        workers[victim_name].kill()

        streams = {}
        for part in await following:
            streams.update(part)

        # Cancel the long runs that survive, then wait for the end of everything.
        for execution_id in long_ids:
            await a.data(
                "mutation($id: ID!) { cancelExecution(id: $id) { status } }", {"id": execution_id}
            )
        rows: list[dict[str, Any]] = []
        for _ in range(300):
            rows = []
            after = None
            while True:
                page = (
                    await a.data(
                        "query($after: String) { executions(first: 200, after: $after) "
                        "{ id status cursor error { code } } }",
                        {"after": after},
                    )
                )["executions"]
                rows += page
                if len(page) < 200:
                    break
                after = page[-1]["cursor"]
            if all(r["status"] not in ("QUEUED", "RUNNING") for r in rows):
                break
            await asyncio.sleep(0.2)

    assert len(rows) == TOTAL
    stuck = [r for r in rows if r["status"] in ("QUEUED", "RUNNING")]
    assert stuck == []

    # Exactly once: each execution was claimed by one worker, one time.
    claims = Counter(
        execution_id
        for worker in workers.values()
        for execution_id in re.findall(r"claimed execution ([0-9a-f-]{36})", worker.output())
    )
    assert set(claims) == {r["id"] for r in rows}
    assert max(claims.values()) == 1

    # The killed worker's runs ended WORKER_LOST; nothing else failed.
    victim_claims = set(
        re.findall(r"claimed execution ([0-9a-f-]{36})", workers[victim_name].output())
    )
    lost = {r["id"] for r in rows if (r["error"] or {}).get("code") == "WORKER_LOST"}
    assert lost and lost <= victim_claims, liveness_story(workers, lost - victim_claims)
    by_status = Counter(r["status"] for r in rows)
    assert by_status["FAILED"] == len(lost)

    # Every subscriber on the other API process saw all output in order and the end.
    for execution_id, events in streams.items():
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), execution_id
        terminal = events[-1]
        assert terminal["status"] in ("SUCCEEDED", "FAILED"), events
        if terminal["status"] == "SUCCEEDED":
            text = "".join(e["data"] or "" for e in events if e["stream"])
            i = terminal["execution"]["result"]
            assert text == f"start {i}\nend {i}\n", (execution_id, events)

    # The dead worker's containers, warm or leased (neither carries an
    # execution label), are reaped when it comes back; and the revived
    # worker, stopped, removes its own warm pool.
    left = {c["Id"] for c in owner_containers(victim_name)}
    assert left, "the killed worker should have left containers"
    revived = ServiceProcess(workers[victim_name].env, command="worker").start()
    try:
        for _ in range(300):
            if "running (concurrency" in revived.output():
                break
            await asyncio.sleep(0.2)
        assert "running (concurrency" in revived.output(), revived.output()
        assert left.isdisjoint(c["Id"] for c in owner_containers(victim_name))
    finally:
        revived.stop()
    assert revived.process is not None and revived.process.returncode == 0, revived.output()
    assert owner_containers(victim_name) == []
