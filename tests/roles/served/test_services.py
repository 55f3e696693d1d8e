"""Services on the served process in both shapes (in the scale-out one a
separate `scriptbox worker` keeps them up): start, logs, events, stop,
restart policies, redeploy, access and the sandbox's hardening."""

from __future__ import annotations

import asyncio
import re

from tests.support.client import GraphQLClient, GraphQLErrorResponse
from tests.support.services import (
    DELETE,
    LOGS,
    MY_SERVICES,
    RESTART,
    SERVICES,
    STATS,
    STOP,
    TICKER,
    kinds,
    service,
    start,
    until,
    until_status,
)
from tests.support.tree import UPDATE_SCRIPT, script
from tests.support.ws import subscription_client


async def test_a_service_runs_streams_its_logs_and_stops_gracefully(alice: GraphQLClient) -> None:
    created = await script(alice, "ticker.py", TICKER)
    started = await start(alice, created["id"], name="ticker")
    assert (started["status"], started["version"], started["name"]) == ("STARTING", 1, "ticker")
    assert started["restartPolicy"] == "ON_FAILURE"

    running = await until(
        alice,
        started["id"],
        "ticking",
        lambda s: s["status"] == "RUNNING" and "tick 3" in s["logs"],
    )
    assert running["startedAt"] and running["worker"]
    with_usage = await until(
        alice, started["id"], "resources sampled", lambda s: s["resources"] is not None
    )
    assert with_usage["resources"]["peakMemoryBytes"] > 0
    # The last lines only.
    assert (await service(alice, started["id"], tail=2))["logs"].count("\n") == 2

    async with subscription_client(alice.base_url, alice.token) as ws:
        seen = ""
        async for event in ws.events(LOGS, {"id": started["id"]}, timeout=60):
            seen += event["serviceLogs"]
            numbers = [int(n) for n in re.findall(r"tick (\d+)", seen)]
            if numbers and numbers[-1] >= numbers[0] + 10:
                break
    # Replayed then live, in order, with no line twice or missing.
    assert numbers == list(range(numbers[0], numbers[-1] + 1))

    listed = (await alice.data(SERVICES))["services"]
    assert started["id"] in [s["id"] for s in listed]

    stopping = (await alice.data(STOP, {"id": started["id"]}))["stopService"]
    assert stopping["status"] in ("STOPPING", "STOPPED")
    stopped = await until_status(alice, started["id"], "STOPPED")
    assert "got SIGTERM, bye" in stopped["logs"]
    assert stopped["lastExitCode"] == 0 and stopped["startedAt"] is None
    assert kinds(stopped) == ["start", "running", "stop", "stopped"], stopped["events"]

    stats = (await alice.data(STATS, {"days": 2, "tz": "UTC"}))["serviceStats"]
    assert len(stats) == 2 and stats[-1]["deployments"] >= 1

    assert (await alice.data(DELETE, {"id": started["id"]}))["deleteService"] is True
    assert (await alice.data(SERVICES))["services"] == []


async def test_a_crashing_service_backs_off_then_fails(alice: GraphQLClient) -> None:
    created = await script(
        alice, "crash.py", "import sys\nprint('boom', flush=True)\nsys.exit(3)\n"
    )
    started = await start(alice, created["id"], maxRestarts=2)
    failed = await until_status(alice, started["id"], "FAILED")
    assert (failed["restarts"], failed["lastExitCode"]) == (2, 3)
    assert failed["logs"].count("boom") == 3
    assert kinds(failed) == [
        "start",
        "running",
        "crash",
        "restart",
        "running",
        "crash",
        "restart",
        "running",
        "crash",
        "failed",
    ]
    events = list(reversed(failed["events"]))
    assert [e["exitCode"] for e in events if e["kind"] == "crash"] == [3, 3, 3]
    waits = [
        float(re.search(r"in ([\d.]+) s", e["message"])[1])  # type: ignore[index]
        for e in events
        if e["kind"] == "restart"
    ]
    assert waits[1] > waits[0], waits  # the backoff grows
    stats = (await alice.data(STATS, {"days": 1}))["serviceStats"]
    assert stats[0]["failures"] >= 4  # three crashes and the end

    # Pages of events, newest first, by cursor.
    page = """query($id: ID!, $after: String) { service(id: $id) {
      events(first: 4, after: $after) { kind cursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        events = (await alice.data(page, {"id": started["id"], "after": after}))["service"]
        batch = events["events"]
        seen += [e["kind"] for e in batch]
        if len(batch) < 4:
            break
        after = batch[-1]["cursor"]
    assert list(reversed(seen)) == kinds(failed)


async def test_restart_policy_never_and_always(alice: GraphQLClient) -> None:
    done = await script(alice, "once.py", "print('once', flush=True)\n")
    never = await start(alice, done["id"], restartPolicy="NEVER")
    stopped = await until_status(alice, never["id"], "STOPPED")
    assert (stopped["restarts"], stopped["lastExitCode"]) == (0, 0)
    always = await start(alice, done["id"], restartPolicy="ALWAYS", name="again")
    again = await until(alice, always["id"], "restarted", lambda s: s["restarts"] >= 2)
    assert again["logs"].count("once") >= 2
    await alice.data(STOP, {"id": always["id"]})
    await until_status(alice, always["id"], "STOPPED")


async def test_redeploy_to_the_current_version(alice: GraphQLClient) -> None:
    created = await script(alice, "web.py", TICKER.replace("'tick'", "'v1 tick'"))
    started = await start(alice, created["id"])
    await until(alice, started["id"], "v1 up", lambda s: "v1 tick 1" in s["logs"])
    await alice.data(
        UPDATE_SCRIPT,
        {"id": created["id"], "input": {"content": TICKER.replace("'tick'", "'v2 tick'")}},
    )
    # A plain restart keeps the version it runs.
    kept = (await alice.data(RESTART, {"id": started["id"], "current": False}))["restartService"]
    assert kept["version"] == 1
    await until(alice, started["id"], "restarted", lambda s: kinds(s).count("running") == 2)
    moved = (await alice.data(RESTART, {"id": started["id"], "current": True}))["restartService"]
    assert moved["version"] == 2
    redeployed = await until(
        alice,
        started["id"],
        "v2 up",
        lambda s: s["status"] == "RUNNING" and "v2 tick 1" in s["logs"],
    )
    history = list(reversed(redeployed["events"]))
    assert "redeploy" in kinds(redeployed)
    replaced = [e for e in history if e["kind"] == "stopped" and e["version"] == 1]
    assert replaced and replaced[-1]["message"] == "replaced by version 2"
    # The old one got its SIGTERM: stopped gracefully, not killed.
    assert "got SIGTERM, bye" in redeployed["logs"]
    await alice.data(STOP, {"id": started["id"]})
    await until_status(alice, started["id"], "STOPPED")


async def test_only_who_sees_a_service_may_stop_it(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    created = await script(alice, "private.py", TICKER)
    started = await start(alice, created["id"])
    assert await service(bob, started["id"]) is None
    try:
        await bob.data(STOP, {"id": started["id"]})
    except GraphQLErrorResponse as exc:
        assert exc.code == "NOT_FOUND"
    else:
        raise AssertionError("bob stopped alice's service")
    assert (await bob.data(SERVICES))["services"] == []
    await alice.data(DELETE, {"id": started["id"]})


async def test_services_keep_the_sandbox_hardening(alice: GraphQLClient) -> None:
    probe = await script(
        alice,
        "probe.py",
        "import socket, time\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=3)\n"
        "    print('NETWORK OPEN', flush=True)\n"
        "except OSError as exc:\n"
        "    print('no network:', exc, flush=True)\n"
        "try:\n"
        "    open('/etc/hacked', 'w')\n"
        "    print('ROOT WRITABLE', flush=True)\n"
        "except OSError as exc:\n"
        "    print('read-only root:', exc, flush=True)\n"
        "while True:\n"
        "    time.sleep(1)\n",
    )
    started = await start(alice, probe["id"])
    found = await until(alice, started["id"], "probed", lambda s: "read-only root" in s["logs"])
    assert "no network" in found["logs"] and "NETWORK OPEN" not in found["logs"]
    await alice.data(DELETE, {"id": started["id"]})

    hog = await script(
        alice,
        "hog.py",
        "blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 2**20))\n",
    )
    hungry = await start(alice, hog["id"], restartPolicy="NEVER")
    failed = await until_status(alice, hungry["id"], "FAILED")
    crash = next(e for e in failed["events"] if e["kind"] == "crash")
    assert "memory" in (crash["message"] or ""), crash


async def test_an_output_flood_is_capped_without_stalling_the_service(alice: GraphQLClient) -> None:
    flood = await script(
        alice,
        "flood.py",
        "import sys, time\n"
        "for _ in range(4000):\n"
        "    sys.stdout.write('x' * 999 + '\\n')\n"
        "sys.stdout.flush()\n"
        "n = 0\n"
        "while True:\n"
        "    print('alive', n, flush=True)\n"
        "    n += 1\n"
        "    time.sleep(0.2)\n",
    )
    started = await start(alice, flood["id"])
    found = await until(
        alice, started["id"], "alive after the flood", lambda s: "alive 5\n" in s["logs"]
    )
    assert "bytes of output dropped: over 65536 bytes a second" in found["logs"]
    kept = (await service(alice, started["id"], tail=10_000))["logs"]
    # Four megabytes printed, a second's worth (and the lines since) kept.
    assert kept.count("x" * 999) < 100
    await alice.data(DELETE, {"id": started["id"]})


async def test_my_services_streams_status_changes(alice: GraphQLClient) -> None:
    created = await script(alice, "watched.py", TICKER)
    started = await start(alice, created["id"])
    await until_status(alice, started["id"], "RUNNING")
    async with subscription_client(alice.base_url, alice.token) as ws:
        events = ws.events(MY_SERVICES, timeout=60)
        first = asyncio.ensure_future(anext(events))
        # The first change seen says the subscription listens; until then,
        # make changes (each restart is one).
        while not first.done():
            await alice.data(RESTART, {"id": started["id"]})
            await asyncio.wait({first}, timeout=0.5)
        assert first.result()["myServices"]["id"] == started["id"]
        await alice.data(STOP, {"id": started["id"]})
        statuses = []
        async for event in events:
            statuses.append(event["myServices"]["status"])
            if statuses[-1] == "STOPPED":
                break
    assert statuses[-1] == "STOPPED", statuses


async def test_a_fork_bomb_service_is_contained(alice: GraphQLClient) -> None:
    bomb = await script(
        alice,
        "bomb.py",
        "import os, time\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError as exc:\n"
        "        print('fork refused:', exc, flush=True)\n"
        "        break\n"
        "time.sleep(0.5)\n"
        "raise SystemExit(7)\n",
    )
    started = await start(alice, bomb["id"], restartPolicy="NEVER")
    failed = await until_status(alice, started["id"], "FAILED")
    # The process limit refused the forks; its processes ended with it.
    assert "fork refused" in failed["logs"]
    assert failed["lastExitCode"] == 7
