"""Services survive their process: `scriptbox serve` (with its embedded
worker) stopped gracefully, or killed, and started again on the same data
keeps what should run running. The per-user limit of services up at once.
On the served process (SQLite), as `make run` starts it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.client import GraphQLClient, registered
from tests.support.owners import owned_name
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.services import RESTART, STOP, TICKER, start, until, until_status
from tests.support.tree import script


def ticks_from_zero(logs: str) -> int:
    """How many containers printed their first line."""
    return logs.count("tick 0\n")


async def test_the_service_is_back_after_a_restart_and_after_a_kill(tmp_path: Path) -> None:
    env = cli_environment(
        tmp_path,
        SCRIPTBOX_WARM_POOL_SIZE="1",
        SCRIPTBOX_MAX_SERVICES_PER_USER="1",
        # Stable across the restarts, as on a machine (roles/parts.py worker_name).
        SCRIPTBOX_WORKER_NAME=owned_name(f"svc-{tmp_path.name[-12:]}"),
    )
    api = ServiceProcess(env, console_script=True)
    await asyncio.to_thread(api.start)
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            alice = await registered(GraphQLClient(api.url, None, http), "alice")
            created = await script(alice, "ticker.py", TICKER)
            started = await start(alice, created["id"])
            await until(alice, started["id"], "ticking", lambda s: "tick 2" in s["logs"])

            # One service up is the limit here.
            refused = await alice.error(
                "mutation($i: StartServiceInput!) { startService(input: $i) { id } }",
                {"i": {"scriptId": created["id"]}},
            )
            assert refused["extensions"]["code"] == "SERVICE_LIMIT_REACHED"

            await asyncio.to_thread(api.stop)  # SIGTERM: a graceful stop
            await asyncio.to_thread(api.start)
            back = await until(
                alice,
                started["id"],
                "back after a restart",
                lambda s: s["status"] == "RUNNING" and ticks_from_zero(s["logs"]) == 2,
            )
            assert "got SIGTERM, bye" in back["logs"]  # it was stopped, not killed

            await asyncio.to_thread(api.kill)
            await asyncio.to_thread(api.start)
            await until(
                alice,
                started["id"],
                "back after a kill",
                lambda s: s["status"] == "RUNNING" and ticks_from_zero(s["logs"]) == 3,
            )

            await alice.data(STOP, {"id": started["id"]})
            await until_status(alice, started["id"], "STOPPED")
            # A stopped service is not up: it may start again (and counts again).
            again = (await alice.data(RESTART, {"id": started["id"]}))["restartService"]
            assert again["status"] == "STARTING"
            await until_status(alice, started["id"], "RUNNING")
            await alice.data(STOP, {"id": started["id"]})
            await until_status(alice, started["id"], "STOPPED")
    finally:
        await asyncio.to_thread(api.stop)
