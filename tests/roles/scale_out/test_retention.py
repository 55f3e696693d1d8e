"""Retention across processes, on SQLite and on PostgreSQL: `scriptbox prune
--dry-run` counts and deletes nothing; two `scriptbox prune` processes
started at once delete each old execution exactly once, with its artifacts
and stored output (rows and objects), and never a queued or running one.

The history is made as users make it: runs of a script over GraphQL (one
held QUEUED by a worker tag no worker has, one still RUNNING, then quick
ones that each write an artifact and print more than the inline output
size)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import GraphQLClient, user_at
from tests.support.deadlines import eventually
from tests.support.paths import REPO
from tests.support.processes import cli_environment, own_service
from tests.support.runs import CANCEL, GET, RUN
from tests.support.scale_out import api_process, shared_environment, stop_all, worker_process
from tests.support.tree import script

QUICK_RUNS = 10
# The script's newest KEEP runs stay (all quick ones); of the older ones,
# the queued and the running one stay too.
KEEP = 4
JOB = (
    "import os, time\n"
    "def main(data):\n"
    "    if data.get('sleep'):\n"
    "        time.sleep(data['sleep'])\n"
    "    os.makedirs('/job/out', exist_ok=True)\n"
    "    open('/job/out/n.txt', 'w').write(str(data['n']))\n"
    "    print(('%06d ' % data['n']) + 'y' * 80000)\n"
    "    return data['n']\n"
)
STATUS = "query($id: ID!) { execution(id: $id) { id status } }"


@dataclass(frozen=True)
class History:
    queued: str
    running: str
    quick: list[str]  # oldest first


@dataclass(frozen=True)
class Deployment:
    url: str
    env: dict[str, str]
    # Where the local object store keeps objects' bytes (storage/local_tree.py).
    objects: Path


@asynccontextmanager
async def sqlite_deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    async with own_service(tmp_path / "data", SCRIPTBOX_WORKER_CONCURRENCY="2") as served:
        yield Deployment(served.url, served.env, tmp_path / "data" / "objects" / "objects")


@asynccontextmanager
async def postgres_deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    """Two API processes (each runs the scheduler, where retention is
    applied: off here, so only the prune commands delete) and a worker."""
    async with shared_environment(tmp_path, SCRIPTBOX_WORKER_CONCURRENCY="2") as env:
        processes = [api_process(env), api_process(env), worker_process(env, "retention")]
        try:
            for process in processes:
                await asyncio.to_thread(process.start)
            yield Deployment(processes[0].url, env, tmp_path / "objects" / "objects")
        finally:
            await asyncio.to_thread(stop_all, processes)


DEPLOYMENTS = {"sqlite": sqlite_deployment, "postgres": postgres_deployment}


async def make_history(client: GraphQLClient) -> History:
    job = await script(client, "job.py", JOB)

    async def run(script_id: str, **extra: Any) -> dict[str, Any]:
        done: dict[str, Any] = (
            await client.data(RUN, {"input": {"scriptId": script_id, **extra}})
        )["runScript"]
        return done

    # All of one script, oldest first: the per-script rule counts them together.
    queued = await run(job["id"], input={"n": -1}, target="no-worker-has-this")
    running = await run(job["id"], input={"n": -2, "sleep": 280}, timeoutSeconds=290)
    await eventually(lambda: _status_is(client, running["id"], "RUNNING"), "the sleeper to start")
    runs = []
    for n in range(QUICK_RUNS):
        done = await run(job["id"], input={"n": n}, wait=True)
        assert done["status"] == "SUCCEEDED", done
        runs.append(done["id"])
    return History(queued["id"], running["id"], runs)


async def _status_is(client: GraphQLClient, execution_id: str, status: str) -> bool:
    row = (await client.data(STATUS, {"id": execution_id}))["execution"]
    return bool(row and row["status"] == status)


def prune(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "roles.cli", "prune", "--json", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def report_of(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report


def objects_of(root: Path, execution_id: str) -> list[Path]:
    return [
        path
        for prefix in ("artifacts", "outputs")
        for path in (root / prefix / execution_id).glob("**/*")
        if path.is_file()
    ]


@pytest.mark.parametrize("database", sorted(DEPLOYMENTS))
async def test_two_processes_prune_each_execution_once(tmp_path: Path, database: str) -> None:
    async with DEPLOYMENTS[database](tmp_path) as deployment, user_at(deployment.url) as alice:
        history = await make_history(alice)
        old, kept = history.quick[:-KEEP], history.quick[-KEEP:]
        assert all(objects_of(deployment.objects, i) for i in history.quick)
        env = {
            **deployment.env,
            "SCRIPTBOX_RETENTION_PER_SCRIPT": str(KEEP),
            # One at a time, slowly: the two processes overlap for seconds.
            "SCRIPTBOX_RETENTION_BATCH": "1",
            "SCRIPTBOX_RETENTION_PAUSE_SECONDS": "0.5",
        }

        dry = report_of(prune(env, "--dry-run"))
        assert dry["dry_run"] is True
        assert dry["executions"] == len(old) == dry["artifacts"] == dry["stored_outputs"]
        assert dry["stored_output_bytes"] > 80000 * len(old)
        for execution_id in history.quick:
            assert await _status_is(alice, execution_id, "SUCCEEDED")

        reports = [report_of(p) for p in [prune(env), prune(env)]]
        # One holds the lease and deletes them all; the other waits its
        # turn and finds nothing left (never both at once, each a part).
        assert sorted(r["executions"] for r in reports) == [0, len(old)], reports
        assert sum(r["artifacts"] for r in reports) == len(old), reports
        assert sum(r["stored_outputs"] for r in reports) == len(old), reports

        for execution_id in old:
            assert (await alice.data(GET, {"id": execution_id}))["execution"] is None
            assert objects_of(deployment.objects, execution_id) == []
        for execution_id in kept:
            assert await _status_is(alice, execution_id, "SUCCEEDED")
            assert objects_of(deployment.objects, execution_id)
        assert await _status_is(alice, history.queued, "QUEUED")
        assert await _status_is(alice, history.running, "RUNNING")

        # Keeping only the newest: the queued and running ones stay all the same.
        again = report_of(prune({**env, "SCRIPTBOX_RETENTION_PER_SCRIPT": "1"}))
        assert again["executions"] == len(kept) - 1
        assert await _status_is(alice, history.queued, "QUEUED")
        assert await _status_is(alice, history.running, "RUNNING")

        for execution_id in (history.queued, history.running):
            await alice.data(CANCEL, {"id": execution_id})


async def test_schedulers_of_two_api_processes_apply_retention_once(tmp_path: Path) -> None:
    """Where it runs by itself: beside the scheduler of each process (two API
    processes and a worker), on PostgreSQL. Each deletion is logged by the
    one process that did it."""
    async with shared_environment(
        tmp_path,
        SCRIPTBOX_RETENTION_PER_SCRIPT="2",
        SCRIPTBOX_RETENTION_INTERVAL_SECONDS="0.2",
        SCRIPTBOX_RETENTION_PAUSE_SECONDS="0",
    ) as env:
        apis = [api_process(env), api_process(env)]
        processes = [*apis, worker_process(env, "retention-scheduled")]
        try:
            for process in processes:
                await asyncio.to_thread(process.start)
            async with user_at(apis[0].url) as alice:
                job = await script(alice, "job.py", JOB)
                runs = []
                for n in range(6):
                    variables = {"input": {"scriptId": job["id"], "input": {"n": n}, "wait": True}}
                    runs.append((await alice.data(RUN, variables))["runScript"]["id"])

                async def pruned() -> bool:
                    rows = [(await alice.data(STATUS, {"id": i}))["execution"] for i in runs]
                    return [row is not None for row in rows] == [False] * 4 + [True] * 2

                await eventually(pruned, "the runs beyond the newest two to go")
                for execution_id in runs[:4]:
                    assert objects_of(tmp_path / "objects" / "objects", execution_id) == []
        finally:
            await asyncio.to_thread(stop_all, processes)
        logs = [process.output() for process in processes]
        deleted = [
            int(count)
            for log in logs
            for count in re.findall(r"retention deleted \{[^}]*'executions': (\d+)", log)
        ]
        assert sum(deleted) == 4, logs
        assert not any("retention round failed" in log for log in logs), logs


def test_prune_says_when_retention_is_off(tmp_path: Path) -> None:
    env = cli_environment(tmp_path / "data")
    process = prune(env, "--dry-run")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "retention is off" in err
    assert json.loads(out)["executions"] == 0
