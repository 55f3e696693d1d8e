"""B4: 1,000 WebSocket subscribers on one execution that prints 1,000 lines.

The execution is held QUEUED behind a blocker (the service runs with
SCRIPTBOX_WORKER_CONCURRENCY=1) while the subscribers connect, so the memory
per idle subscriber is measured on the service process with nothing else
moving; cancelling the blocker then starts the printing. Subscribers live in
several client processes (bench/fanout_client.py)."""

from __future__ import annotations

import array
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import cleanup, profiling
from bench.config import Config
from bench.gql import TERMINAL, Api, GraphQLFailed, socket
from bench.results import BenchResult, Row
from bench.service import ROOT, Process, scriptbox_serve, temp_dir
from bench.stats import Summary, num

BLOCKER = "import time\ntime.sleep(300)\n"
# Program mode (no main): the input JSON is on stdin; `python3 -u`.
PRINTER = """import json, sys, time
config = json.load(sys.stdin)
interval = config["interval_ms"] / 1000.0
start = time.time()
for i in range(config["lines"]):
    delay = start + i * interval - time.time()
    if delay > 0:
        time.sleep(delay)
    print(i, "%.6f" % time.time(), flush=True)
"""
STATUS = "subscription($id: ID!) { executionUpdates(executionId: $id) { status } }"
KiB = 1024


async def _wait_status(service: Process, token: str, execution_id: str, wanted: set[str]) -> str:
    async with socket(service.url, token) as ws:
        op = await ws.subscribe(STATUS, {"id": execution_id})
        async for data in ws.events(op, timeout=120):
            status = str(data["executionUpdates"]["status"])
            if status in wanted:
                return status
    raise GraphQLFailed(f"{execution_id} ended without reaching {wanted}")


async def _rss(service: Process, samples: int = 5) -> int:
    values = []
    for _ in range(samples):
        values.append(service.rss())
        await asyncio.sleep(0.2)
    return int(statistics.median(values))


async def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout)
    return line.decode().strip()


async def run(config: Config) -> BenchResult:
    result = BenchResult("B4", "subscribers on one execution printing lines")
    work = temp_dir("b4-clients")
    n = config.b4_subscribers
    procs = max(1, config.b4_client_processes)
    with scriptbox_serve("b4", worker_concurrency="1") as service:
        api = await Api(service.url).register("b4")
        clients: list[subprocess.Popen[bytes]] = []
        try:
            token = api.token or ""
            blocker_script = await api.create_script("blocker.py", BLOCKER)
            printer_script = await api.create_script("printer.py", PRINTER)
            blocker = await api.run_script(blocker_script, None, timeout=600)
            await _wait_status(service, token, blocker, {"RUNNING"})
            printer = await api.run_script(
                printer_script,
                {"lines": config.b4_lines, "interval_ms": config.b4_line_interval_ms},
                timeout=config.b4_deadline_seconds,
            )
            await asyncio.sleep(2)
            rss_before = await _rss(service)
            connect_started = time.monotonic()
            sizes = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
            for i, size in enumerate(sizes):
                args = {
                    "url": service.url,
                    "token": token,
                    "execution_id": printer,
                    "subscribers": size,
                    "lines": config.b4_lines,
                    "deadline_seconds": config.b4_deadline_seconds,
                    "out": str(work / f"client-{i}.json"),
                }
                clients.append(
                    cleanup.spawn(
                        [sys.executable, "-m", "bench.fanout_client", json.dumps(args)],
                        cwd=ROOT,
                        stdout=subprocess.PIPE,
                    )
                )
            for client in clients:
                line = await _read_line(client, config.b4_deadline_seconds)
                if line != "READY":
                    raise GraphQLFailed(f"a client process failed to subscribe: {line!r}")
            connect_seconds = time.monotonic() - connect_started
            await asyncio.sleep(2)
            rss_after = await _rss(service)
            cpu_before = _cpu_seconds(service.pid)
            printing_started = time.monotonic()
            with profiling.phase("B4-service", service.pid):
                status = await api.cancel(blocker)
                for client in clients:
                    line = await _read_line(client, config.b4_deadline_seconds + 30)
                    if line != "DONE":
                        raise GraphQLFailed(f"a client process stopped early: {line!r}")
            fanout_seconds = time.monotonic() - printing_started
            cpu_fanout = _cpu_seconds(service.pid) - cpu_before
            printer_status = await _wait_status(service, token, printer, TERMINAL)
        finally:
            for client in clients:
                cleanup.stop(client, timeout=30)
            await api.aclose()

    if config.profile:
        return result
    outcomes = [json.loads((work / f"client-{i}.json").read_text()) for i in range(procs)]
    fatal = [o["fatal"] for o in outcomes if "fatal" in o]
    if fatal:
        raise GraphQLFailed("client process failed: " + "; ".join(fatal))
    lags = array.array("d")
    for i in range(procs):
        with (work / f"client-{i}.json.lags").open("rb") as handle:
            lags.frombytes(handle.read())
    complete = sum(o["complete"] for o in outcomes)
    lines = sum(o["lines"] for o in outcomes)
    errors = sum(o["error_count"] for o in outcomes)
    lag = Summary.of(lags.tolist())
    client_cpu = sum(o.get("cpu_after_ready", 0.0) for o in outcomes)
    per_subscriber = (rss_after - rss_before) / n
    all_delivered = complete == n and errors == 0
    result.rows = [
        Row(
            "B4",
            f"{n:,} subscribers x {config.b4_lines:,} lines: complete and in order",
            f"{complete:,} of {n:,}",
            f"{lines:,} of {n * config.b4_lines:,} lines",
            "-",
            "-",
            "every subscriber gets every line in order",
            all_delivered,
        ),
        Row(
            "B4",
            "delivery lag (print → received) p99",
            f"{num(lag.p99)} ms",
            f"p50 {num(lag.median)} ms, max {num(lag.maximum)} ms",
            "-",
            "-",
            "p99 ≤ 250 ms",
            lag.p99 <= 250,
        ),
        Row(
            "B4",
            "service memory per idle subscriber",
            f"{num(per_subscriber / KiB, 1)} KiB",
            f"RSS {num(rss_before / 2**20, 1)} -> {num(rss_after / 2**20, 1)} MiB",
            "-",
            "-",
            "≤ 64 KiB",
            per_subscriber <= 64 * KiB,
        ),
    ]
    result.notes = [
        f"The printing script writes {config.b4_lines:,} lines `<i> <time.time()>`, one every "
        f"{config.b4_line_interval_ms:g} ms (about "
        f"{config.b4_lines * config.b4_line_interval_ms / 1000:g} s); the sandbox forwards "
        "output within 5 ms, so each event carries a few lines. Lag = receive time in the "
        "client minus the time printed (same machine clock); a line cut across two events "
        "counts when its end arrives.",
        f"{n:,} subscribers in {procs} client processes (graphql-transport-ws; they "
        f"offer permessage-deflate, as browsers do), subscribed in {connect_seconds:.1f} s; "
        "the subscription asks for `seq status stream data`. The fan-out took "
        f"{fanout_seconds:.1f} s from the blocker's cancel to the last client's end, "
        f"with {cpu_fanout:.1f} s of service CPU and {client_cpu:.1f} s of the client "
        "processes' (which share the 2 cores, so part of the lag is theirs). "
        f"Printer status: {printer_status}; "
        f"blocker: {status}; client errors: {errors}.",
        "Memory: median VmRSS of the `scriptbox serve` process (5 samples) before the "
        "clients connect and 2 s after all subscriptions have their first event, divided by "
        "the number of subscribers.",
    ]
    result.raw = {
        "rss_before": rss_before,
        "rss_after": rss_after,
        "lag": lag.as_dict(),
        "complete": complete,
        "lines": lines,
        "connect_seconds": connect_seconds,
        "fanout_seconds": fanout_seconds,
        "cpu_fanout_seconds": cpu_fanout,
        "client_cpu_seconds": client_cpu,
        "clients": outcomes,
    }
    return result


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
