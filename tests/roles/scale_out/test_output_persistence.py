"""The scale-out shape (API and `scriptbox worker` processes on PostgreSQL
and Redis): a worker SIGKILLed mid-run leaves a run that another worker
fails as WORKER_LOST, keeping what it printed, masked; the stored output is
what live and late subscribers were shown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

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
from tests.support.processes import ServiceProcess
from tests.support.runs import UPDATES
from tests.support.scale_out import api_process, shared_environment, worker_process
from tests.support.ws import subscription_client


async def test_output_of_a_killed_worker_is_kept(tmp_path: Path) -> None:
    secret = new_secret()
    async with shared_environment(
        tmp_path,
        SCRIPTBOX_WORKER_LOST_AFTER_SECONDS="3",
        SCRIPTBOX_WARM_POOL_SIZE="1",
        SCRIPTBOX_WORKER_CONCURRENCY="1",
        **CAPPED_ENV,
    ) as base:
        api = api_process(base)
        victim = worker_process(base, f"victim-{tmp_path.name[-12:]}")
        victim_name = victim.env["SCRIPTBOX_WORKER_NAME"]
        sweeper = worker_process(base, f"sweeper-{tmp_path.name[-12:]}")
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
