"""Worker tags with several `scriptbox worker` processes on one PostgreSQL
and Redis, behind an API process that runs nothing itself: a run for `gpu`
waits, visibly, while only an `eu` worker is alive, and is run by the gpu
worker once it starts, never by the other; `runOnWorkers` runs once on each
worker of a tag; a worker that stops is no longer a place to run."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import PASSWORD, GraphQLClient, registered, unique_username
from tests.support.deadlines import eventually
from tests.support.paths import REPO
from tests.support.processes import ServiceProcess
from tests.support.scale_out import api_process, shared_environment, stop_all, worker_process

PLACED = "id status target worker waitingFor result"
RUN = f"mutation($input: RunScriptInput!) {{ runScript(input: $input) {{ {PLACED} }} }}"
GET = f"query($id: ID!) {{ execution(id: $id) {{ {PLACED} }} }}"
WORKERS = "{ workers { name tags running concurrency } }"
RUN_ON_WORKERS = f"""
mutation($tag: String!, $id: ID!) {{
  runOnWorkers(tag: $tag, scriptId: $id, input: "hello") {{ id size executions {{ {PLACED} }} }}
}}
"""
GET_BATCH = f"query($id: ID!) {{ batch(id: $id) {{ finished executions {{ {PLACED} }} }} }}"
ECHO = "def main(data):\n    return data\n"


def claimed_by(worker: ServiceProcess) -> set[str]:
    return set(re.findall(r"claimed execution ([0-9a-f-]{36})", worker.output()))


def make_admin(env: dict[str, str]) -> str:
    username = unique_username("admin")
    subprocess.run(
        [sys.executable, "-m", "roles.cli", "create-user", username, "--admin", "--password-stdin"],
        env=env,
        cwd=REPO,
        input=f"{PASSWORD}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    return username


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with shared_environment(
        tmp_path, SCRIPTBOX_WARM_POOL_SIZE="1", SCRIPTBOX_WORKER_CONCURRENCY="1"
    ) as base:
        label = tmp_path.name[-12:]
        api = api_process(base)
        eu = worker_process(base, f"eu-{label}", SCRIPTBOX_WORKER_TAGS="eu")
        gpu = worker_process(base, f"gpu-{label}", SCRIPTBOX_WORKER_TAGS="gpu, eu")
        api.start()  # migrates first
        eu.start()
        try:
            yield {"api": api, "eu": eu, "gpu": gpu, "base": base}
        finally:
            stop_all([api, eu, gpu])


async def test_tags_place_runs_on_the_workers_that_carry_them(fleet: dict[str, Any]) -> None:
    api: ServiceProcess = fleet["api"]
    eu: ServiceProcess = fleet["eu"]
    gpu: ServiceProcess = fleet["gpu"]
    eu_name, gpu_name = eu.env["SCRIPTBOX_WORKER_NAME"], gpu.env["SCRIPTBOX_WORKER_NAME"]
    admin_name = make_admin(fleet["base"])
    async with httpx.AsyncClient(timeout=60) as http:
        anon = GraphQLClient(api.url, None, http)
        alice = await registered(anon, "tags")
        token = (
            await anon.data(
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) "
                "{ accessToken } }",
                {"u": admin_name, "p": PASSWORD},
            )
        )["login"]["accessToken"]
        admin = anon.with_token(token)
        created = (
            await alice.data(
                'mutation($c: String!) { createScript(input: {name: "echo.py", content: $c}) '
                "{ id } }",
                {"c": ECHO},
            )
        )["createScript"]

        async def workers() -> dict[str, dict[str, Any]]:
            return {w["name"]: w for w in (await admin.data(WORKERS))["workers"]}

        async def get(execution_id: str) -> dict[str, Any]:
            row: dict[str, Any] = (await alice.data(GET, {"id": execution_id}))["execution"]
            return row

        async def run(**extra: Any) -> dict[str, Any]:
            data = await alice.data(RUN, {"input": {"scriptId": created["id"], **extra}})
            row: dict[str, Any] = data["runScript"]
            return row

        await eventually(lambda: _has(workers, {eu_name}), "the eu worker is live")

        # Only the eu worker is alive: a run for gpu waits, and says why.
        waiting = await run(input="gpu", target="gpu")
        later = await run(input="anywhere", wait=True)
        assert (later["status"], later["worker"]) == ("SUCCEEDED", eu_name), later
        held = await get(waiting["id"])
        assert (held["status"], held["target"], held["worker"]) == ("QUEUED", "gpu", None)
        assert held["waitingFor"] == "No live worker has the tag 'gpu'."
        assert waiting["id"] not in claimed_by(eu)

        # The gpu worker starts: the waiting run is its, and only its.
        gpu.start()

        async def ran(execution_id: str) -> dict[str, Any] | None:
            row = await get(execution_id)
            return row if row["status"] == "SUCCEEDED" else None

        done = await eventually(lambda: ran(waiting["id"]), "the gpu run runs")
        assert (done["worker"], done["result"], done["waitingFor"]) == (gpu_name, "gpu", None)
        # Both alive now; every gpu run still goes to the gpu worker, though
        # the eu worker is idle and claims whatever it may.
        more = [await run(input=i, target="gpu") for i in range(4)]
        rows = [await eventually(partial(ran, row["id"]), "a gpu run") for row in more]
        assert {row["worker"] for row in rows} == {gpu_name}
        assert claimed_by(eu).isdisjoint({waiting["id"], *(row["id"] for row in more)})

        # Admins see both, with their tags (the name first).
        listed = await eventually(lambda: _has(workers, {eu_name, gpu_name}), "both listed")
        assert listed[eu_name]["tags"] == [eu_name, "eu"]
        assert listed[gpu_name]["tags"] == [gpu_name, "gpu", "eu"]
        assert {w["concurrency"] for w in listed.values()} == {1}

        # Once on every worker of a tag, each execution naming its worker.
        batch = (await alice.data(RUN_ON_WORKERS, {"tag": "eu", "id": created["id"]}))[
            "runOnWorkers"
        ]
        assert batch["size"] == 2
        assert sorted(e["target"] for e in batch["executions"]) == sorted([eu_name, gpu_name])

        async def finished() -> list[dict[str, Any]] | None:
            found = (await alice.data(GET_BATCH, {"id": batch["id"]}))["batch"]
            executions: list[dict[str, Any]] = found["executions"]
            return executions if found["finished"] else None

        executions = await eventually(finished, "the run on every eu worker ends")
        assert [(e["status"], e["result"]) for e in executions] == [("SUCCEEDED", "hello")] * 2
        assert all(e["worker"] == e["target"] for e in executions)
        by_target = {e["target"]: e["id"] for e in executions}
        assert by_target[eu_name] in claimed_by(eu)
        assert by_target[gpu_name] in claimed_by(gpu)

        # The gpu worker stops: gone from the list at once, no place to run.
        gpu.stop()
        assert set(await workers()) == {eu_name}
        error = await alice.error(RUN_ON_WORKERS, {"tag": "gpu", "id": created["id"]})
        assert error["extensions"]["code"] == "NO_LIVE_WORKER"
        stranded = await run(target="gpu")
        assert (await get(stranded["id"]))["waitingFor"] == "No live worker has the tag 'gpu'."
        await alice.data(
            "mutation($id: ID!) { cancelExecution(id: $id) { id } }", {"id": stranded["id"]}
        )


async def _has(
    workers: Callable[[], Awaitable[dict[str, dict[str, Any]]]], names: set[str]
) -> dict[str, dict[str, Any]] | None:
    """The listed workers, once `names` are among them."""
    listed = await workers()
    return listed if names <= set(listed) else None
