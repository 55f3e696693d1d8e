"""A service in the scale-out shape: one API process and two workers on one
PostgreSQL and Redis. The worker that keeps the service is SIGKILLed; the
other one takes the service over once the first is silent, and its live
logs reach a subscriber on the API all along."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.client import GraphQLClient, registered
from tests.support.scale_out import api_process, shared_environment, stop_all, worker_process
from tests.support.services import STOP, TICKER, kinds, start, until, until_status
from tests.support.tree import script


async def test_a_killed_worker_s_service_runs_again_on_another(tmp_path: Path) -> None:
    async with shared_environment(tmp_path, SCRIPTBOX_WARM_POOL_SIZE="1") as base:
        api = api_process(base)
        workers = [worker_process(base, f"svc-{tmp_path.name[-12:]}-w{i}") for i in range(2)]
        try:
            api.start()
            for worker in workers:
                worker.start()
            by_name = {w.env["SCRIPTBOX_WORKER_NAME"]: w for w in workers}
            async with httpx.AsyncClient(timeout=60) as http:
                alice = await registered(GraphQLClient(api.url, None, http), "alice")
                created = await script(alice, "ticker.py", TICKER)
                started = await start(alice, created["id"])
                first = await until(
                    alice, started["id"], "ticking", lambda s: "tick 2" in s["logs"]
                )
                keeper = first["worker"]
                assert keeper in by_name
                by_name[keeper].kill()
                moved = await until(
                    alice,
                    started["id"],
                    "running elsewhere",
                    lambda s: s["status"] == "RUNNING" and s["worker"] not in (None, keeper),
                )
                assert "worker_lost" in kinds(moved)
                lost = next(e for e in moved["events"] if e["kind"] == "worker_lost")
                assert keeper in lost["message"]
                # The new container prints from its own start again.
                await until(
                    alice,
                    started["id"],
                    "ticking again",
                    lambda s: s["logs"].count("tick 1\n") >= 2,
                )
                await alice.data(STOP, {"id": started["id"]})
                await until_status(alice, started["id"], "STOPPED")
        finally:
            stop_all([api, *workers])
