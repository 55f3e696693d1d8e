"""The scale-out shape (API and `scriptbox worker` processes on PostgreSQL
and Redis): a worker SIGKILLed mid-run leaves a run that another worker
fails as WORKER_LOST, keeping what it printed, masked; the stored output is
what live and late subscribers were shown."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import httpx

from harness.postgres import fresh_postgres_database
from tests.support.client import GraphQLClient, registered
from tests.support.containers import owner_containers, remove_containers
from tests.support.crashed_run import (
    CAPPED_ENV,
    STORED_BEFORE_LAST_LINE,
    assert_kept_and_masked,
    joined,
    new_secret,
    poll_execution,
    replayed_output,
    start_crashing_run,
)
from tests.support.deadlines import eventually
from tests.support.owners import owned_name
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.runs import UPDATES
from tests.support.ws import subscription_client


async def test_output_of_a_killed_worker_is_kept(tmp_path: Path) -> None:
    secret = new_secret()
    async with fresh_postgres_database() as database_url:
        base = cli_environment(
            tmp_path / "data",
            SCRIPTBOX_DATABASE_URL=database_url,
            SCRIPTBOX_REDIS_URL="redis://127.0.0.1:6379/0",
            SCRIPTBOX_REDIS_PREFIX=f"scriptbox-test-{secrets.token_hex(4)}:",
            SCRIPTBOX_JWT_SECRET=secrets.token_urlsafe(32),
            SCRIPTBOX_STORAGE_DIR=str(tmp_path / "objects"),
            SCRIPTBOX_WORKER_HEARTBEAT_SECONDS="1",
            SCRIPTBOX_WORKER_LOST_AFTER_SECONDS="3",
            SCRIPTBOX_WARM_POOL_SIZE="1",
            SCRIPTBOX_WORKER_CONCURRENCY="1",
            **CAPPED_ENV,
        )
        api = ServiceProcess({**base, "SCRIPTBOX_EMBEDDED_WORKER": "false"})
        victim_name = owned_name(f"victim-{tmp_path.name[-12:]}")
        victim = ServiceProcess({**base, "SCRIPTBOX_WORKER_NAME": victim_name}, command="worker")
        sweeper = ServiceProcess(
            {**base, "SCRIPTBOX_WORKER_NAME": owned_name(f"sweeper-{tmp_path.name[-12:]}")},
            command="worker",
        )
        reaped_by_the_product = False
        api.start()
        victim.start()
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                client = await registered(GraphQLClient(api.url, None, http))
                async with subscription_client(api.url, client.token) as ws:
                    execution_id = await start_crashing_run(client, secret)
                    events: list[dict[str, Any]] = []
                    last_line_shown = asyncio.Event()

                    async def follow() -> None:
                        async for event in ws.events(UPDATES, {"id": execution_id}, timeout=180):
                            events.append(event["executionUpdates"])
                            if "second line" in joined(events)[0]:
                                last_line_shown.set()

                    live = asyncio.create_task(follow())
                    # The API runs no worker: this output comes from the bus (Redis).
                    await poll_execution(client, execution_id, until=STORED_BEFORE_LAST_LINE)
                    # Killed the moment the last line is live, likely before it is
                    # written: the bus still has it, and the sweeper stores it.
                    await asyncio.wait_for(last_line_shown.wait(), 60)
                    victim.kill()
                    sweeper.start()
                    await live
                    seen = joined(events)
                    execution = await poll_execution(client, execution_id, until="TERMINAL")
                    assert_kept_and_masked(execution, secret)
                    assert execution["stdout"] == STORED_BEFORE_LAST_LINE + "second line\n"
                    assert seen == (execution["stdout"], execution["stderr"], "FAILED")
                    late = await replayed_output(ws, execution_id)
                    assert late == seen
            # The killed worker, started again, removes the containers it left.
            left = {c["Id"] for c in owner_containers(victim_name)}
            assert left, "the killed worker should have left containers"
            revived = ServiceProcess(victim.env, command="worker").start()
            try:

                async def reaped() -> bool:
                    return left.isdisjoint(c["Id"] for c in owner_containers(victim_name))

                await eventually(reaped, "the revived worker reaps what it left")
            finally:
                revived.stop()
            # Stopped by SIGTERM, it ends cleanly and takes its warm pool along.
            assert revived.process is not None and revived.process.returncode == 0, revived.output()
            assert owner_containers(victim_name) == []
            reaped_by_the_product = True
        finally:
            for process in (api, victim, sweeper):
                process.stop()
            if not reaped_by_the_product:
                remove_containers(victim_name)  # a failed test's leftovers
