"""Redis going away for a while loses nothing: runs go on, results are in
the database, and subscribers get the output and the end from there."""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.postgres import fresh_postgres_database
from tests.support.client import GraphQLClient, registered
from tests.support.deadlines import eventually
from tests.support.owners import owned_name
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.runs import CANCEL, GET, UPDATES
from tests.support.servers import free_port
from tests.support.ws import subscription_client

SCRIPT = (
    "import time\n"
    "def main(data):\n"
    "    for i in range(data['n']):\n"
    "        print('line', i, flush=True)\n"
    "        time.sleep(0.1)\n"
    "    return data['n']\n"
)
RUN = "mutation($input: RunScriptInput!) { runScript(input: $input) { id } }"
# Prints for a minute: still running whatever the outage costs.
COUNTING = (
    "import time\n"
    "def main(data):\n"
    "    for i in range(600):\n"
    "        print('line', i, flush=True)\n"
    "        time.sleep(0.1)\n"
)


async def worker_health(env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "roles.cli",
        "worker-health",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode().strip()


class RedisServer:
    """A redis-server of this test's own on a free 127.0.0.1 port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is installed by scripts/services-up.sh"
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            probe = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            )
            if "PONG" in probe.stdout:
                return
            subprocess.run(["sleep", "0.05"])
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def api_and_worker(
    tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[ServiceProcess]:
    async with fresh_postgres_database() as database_url:
        base = cli_environment(
            tmp_path / "data",
            SCRIPTBOX_DATABASE_URL=database_url,
            SCRIPTBOX_REDIS_URL=f"redis://127.0.0.1:{redis_server.port}/0",
            SCRIPTBOX_JWT_SECRET=secrets.token_urlsafe(32),
            SCRIPTBOX_STORAGE_DIR=str(tmp_path / "objects"),
            SCRIPTBOX_WORKER_NAME=owned_name(f"outage-{tmp_path.name[-12:]}"),
        )
        api = ServiceProcess({**base, "SCRIPTBOX_EMBEDDED_WORKER": "false"}).start()
        worker = ServiceProcess(base, command="worker").start()
        api.worker_env = base  # type: ignore[attr-defined]
        try:
            yield api
        finally:
            api.stop()
            worker.stop()


async def test_redis_outage_loses_nothing(
    api_and_worker: ServiceProcess, redis_server: RedisServer
) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        client = await registered(GraphQLClient(api_and_worker.url, None, http), "outage")
        created = (
            await client.data(
                'mutation($c: String!) { createScript(input: {name: "lines.py", content: $c}) '
                "{ id } }",
                {"c": SCRIPT},
            )
        )["createScript"]
        first = (
            await client.data(RUN, {"input": {"scriptId": created["id"], "input": {"n": 30}}})
        )["runScript"]["id"]

        async with subscription_client(client.base_url, client.token) as ws:
            follower = asyncio.create_task(ws.collect(UPDATES, {"id": first}, timeout=120))

            # Mid-stream: the API process shows what the worker published.
            async def some_lines_streamed() -> bool:
                row = (await client.data(GET, {"id": first}))["execution"]
                return "line 2\n" in (row["stdout"] or "")

            await eventually(some_lines_streamed, "the first lines are saved")
            redis_server.stop()
            # While Redis is down: a new run is still accepted, and runs.
            second = (
                await client.data(RUN, {"input": {"scriptId": created["id"], "input": {"n": 3}}})
            )["runScript"]["id"]
            events: list[dict[str, Any]] = [e["executionUpdates"] for e in await follower]

        text = "".join(e["data"] or "" for e in events if e["stream"])
        assert text == "".join(f"line {i}\n" for i in range(30))
        assert events[-1]["status"] == "SUCCEEDED"
        assert events[-1]["execution"]["result"] == 30

        for _ in range(200):
            row = (await client.data(GET, {"id": second}))["execution"]
            if row["status"] not in ("QUEUED", "RUNNING"):
                break
            await asyncio.sleep(0.1)
        assert (row["status"], row["result"]) == ("SUCCEEDED", 3)
        assert row["stdout"] == "line 0\nline 1\nline 2\n"

        # The worker's health check reads its heartbeat from the database.
        env: dict[str, str] = api_and_worker.worker_env  # type: ignore[attr-defined]
        assert await worker_health(env) == (0, "alive")
        assert (await worker_health({**env, "SCRIPTBOX_WORKER_NAME": "never-started"}))[0] == 1

        redis_server.start()  # back: new subscriptions use it again
        async with subscription_client(client.base_url, client.token) as ws:
            replay = [e["executionUpdates"] for e in await ws.collect(UPDATES, {"id": second})]
        assert replay[-1]["status"] == "SUCCEEDED"
        assert "".join(e["data"] or "" for e in replay if e["stream"]) == row["stdout"]


async def test_a_running_execution_is_shown_and_cancelled_while_redis_is_away(
    api_and_worker: ServiceProcess, redis_server: RedisServer
) -> None:
    """Without the bus, an API process shows what a running execution printed
    from the batches its worker writes, and a cancel reaches that worker
    through the row."""
    async with httpx.AsyncClient(timeout=60) as http:
        client = await registered(GraphQLClient(api_and_worker.url, None, http), "away")
        created = (
            await client.data(
                'mutation($c: String!) { createScript(input: {name: "count.py", content: $c}) '
                "{ id } }",
                {"c": COUNTING},
            )
        )["createScript"]
        execution_id = (
            await client.data(RUN, {"input": {"scriptId": created["id"], "timeoutSeconds": 120}})
        )["runScript"]["id"]

        async def shown() -> dict[str, Any]:
            execution: dict[str, Any] = (await client.data(GET, {"id": execution_id}))["execution"]
            return execution

        async def printing() -> bool:
            return "line 2\n" in (await shown())["stdout"]

        await eventually(printing, "the run prints")
        redis_server.stop()

        async def shown_from_batches() -> dict[str, Any] | None:
            # The batches are written every half second: the first may not be there yet.
            now = await shown()
            assert now["status"] == "RUNNING", now["status"]
            return now if re.search(r"line \d+\n", now["stdout"]) else None

        before = await eventually(shown_from_batches, "the output from the worker's batches")
        last = max(int(n) for n in re.findall(r"line (\d+)\n", before["stdout"]))

        async def printed_since_redis_went_away() -> bool:
            now = await shown()
            assert now["status"] == "RUNNING", now["status"]
            return f"line {last + 5}\n" in now["stdout"]

        await eventually(printed_since_redis_went_away, "output printed after the outage")
        await client.data(CANCEL, {"id": execution_id})

        async def cancelled() -> dict[str, Any] | None:
            now = await shown()
            return now if now["status"] == "CANCELLED" else None

        final = await eventually(cancelled, "the cancel reached the worker")
        assert final["stdout"].startswith(before["stdout"])
