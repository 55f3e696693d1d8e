"""SIGKILL the service mid-run and start it again: the execution ends FAILED
with WORKER_LOST (not run again) and no container of it remains."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.client import GraphQLClient, registered
from tests.support.containers import owner_containers
from tests.support.owners import owned_name
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.runs import GET, RUN
from tests.support.tree import script


async def test_killed_service_fails_its_run_as_worker_lost(tmp_path: Path) -> None:
    worker = owned_name(f"recovery-{tmp_path.name}")
    env = cli_environment(tmp_path / "data", SCRIPTBOX_WORKER_NAME=worker)
    first = ServiceProcess(env).start()
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            client = await registered(GraphQLClient(first.url, None, http))
            created = await script(client, "long.py", "import time\ntime.sleep(120)\n")
            queued = await client.data(
                RUN, {"input": {"scriptId": created["id"], "timeoutSeconds": 120}}
            )
            execution_id = queued["runScript"]["id"]
            for _ in range(100):
                status = (await client.data(GET, {"id": execution_id}))["execution"]["status"]
                if status == "RUNNING":
                    break
                await asyncio.sleep(0.1)
            assert status == "RUNNING"
    finally:
        first.kill()
    assert owner_containers(worker), "the killed service's container should still exist"

    second = ServiceProcess(env)
    second.port = first.port
    second.url = first.url
    second.start()
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            client.http = http
            execution = (await client.data(GET, {"id": execution_id}))["execution"]
        assert execution["status"] == "FAILED"
        assert execution["error"]["code"] == "WORKER_LOST"
        assert execution["finishedAt"] is not None
        busy = [c for c in owner_containers(worker) if c["Labels"].get("scriptbox.execution")]
        assert busy == []
    finally:
        second.stop()
    assert owner_containers(worker) == []
