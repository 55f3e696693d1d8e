"""B4: WebSocket subscribers on one execution that prints 1,000 lines: 1,000
of them against the goals, and the curve at 10, 100, 1,000 and 10,000.

The execution is held QUEUED behind a blocker (the service runs with
SCRIPTBOX_WORKER_CONCURRENCY=1) while the subscribers connect, so the memory
per idle subscriber is measured on the service process with nothing else
moving; cancelling the blocker then starts the printing. Subscribers live in
several client processes (bench/fanout_client.py)."""

from __future__ import annotations

import array
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# Subscribers per client process: up to the headline size, a few processes
# of a few hundred each; beyond it, more processes of more sockets each (the
# client processes share the 2 cores with the service).
SMALL_PER_PROCESS = 250
LARGE_PER_PROCESS = 1250
# Extra seconds of deadline per subscriber: connecting 10,000 takes a while.
DEADLINE_PER_SUBSCRIBER = 0.03
MEMORY_GOAL_KIB = 32
LAG_GOAL_MS = 250


@dataclass
class Fanout:
    """What one size measured."""

    subscribers: int
    processes: int
    complete: int
    lines: int
    errors: int
    seq_gaps: int
    lag: Summary
    rss_before: int
    rss_after: int
    connect_seconds: float
    fanout_seconds: float
    cpu_fanout: float
    client_cpu: float
    printer_status: str
    blocker_status: str
    outcomes: list[dict[str, Any]]

    @property
    def per_subscriber(self) -> float:
        return (self.rss_after - self.rss_before) / self.subscribers

    def all_delivered(self, lines: int) -> bool:
        return (
            self.complete == self.subscribers
            and self.errors == 0
            and self.seq_gaps == 0
            and self.lines == self.subscribers * lines
        )

    def raw(self) -> dict[str, Any]:
        return {
            "subscribers": self.subscribers,
            "processes": self.processes,
            "rss_before": self.rss_before,
            "rss_after": self.rss_after,
            "lag": self.lag.as_dict(),
            "complete": self.complete,
            "lines": self.lines,
            "seq_gaps": self.seq_gaps,
            "connect_seconds": self.connect_seconds,
            "fanout_seconds": self.fanout_seconds,
            "cpu_fanout_seconds": self.cpu_fanout,
            "client_cpu_seconds": self.client_cpu,
            "clients": self.outcomes,
        }


def client_processes(config: Config, n: int) -> int:
    if n <= config.b4_subscribers:
        return max(1, min(config.b4_client_processes, math.ceil(n / SMALL_PER_PROCESS)))
    return math.ceil(n / LARGE_PER_PROCESS)


async def fanout(config: Config, n: int) -> Fanout | None:
    """One fresh service, `n` subscribers on one printing execution (None
    in the profiling pass, which measures nothing)."""
    work = temp_dir(f"b4-clients-{n}")
    procs = client_processes(config, n)
    deadline = config.b4_deadline_seconds + n * DEADLINE_PER_SUBSCRIBER
    with scriptbox_serve(f"b4-{n}", worker_concurrency="1") as service:
        api = await Api(service.url).register("b4")
        clients: list[subprocess.Popen[bytes]] = []
        try:
            token = api.token or ""
            blocker_script = await api.create_script("blocker.py", BLOCKER)
            printer_script = await api.create_script("printer.py", PRINTER)
            blocker = await api.run_script(blocker_script, None, timeout=deadline + 120)
            await _wait_status(service, token, blocker, {"RUNNING"})
            printer = await api.run_script(
                printer_script,
                {"lines": config.b4_lines, "interval_ms": config.b4_line_interval_ms},
                timeout=deadline,
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
                    "deadline_seconds": deadline,
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
                line = await _read_line(client, deadline)
                if line != "READY":
                    raise GraphQLFailed(f"a client process failed to subscribe: {line!r}")
            connect_seconds = time.monotonic() - connect_started
            await asyncio.sleep(2)
            rss_after = await _rss(service)
            cpu_before = _cpu_seconds(service.pid)
            printing_started = time.monotonic()
            with profiling.phase("B4-service", service.pid):
                blocker_status = await api.cancel(blocker)
                # ENDED: its streams are over (it reads their lines after);
                # DONE at once: it stopped, its results say why.
                ended = [await _read_line(client, deadline + 30) for client in clients]
            fanout_seconds = time.monotonic() - printing_started
            cpu_fanout = _cpu_seconds(service.pid) - cpu_before
            for client, line in zip(clients, ended, strict=True):
                if line == "ENDED":
                    line = await _read_line(client, deadline + 30)
                if line != "DONE":
                    raise GraphQLFailed(f"a client process stopped early: {line!r}")
            printer_status = await _wait_status(service, token, printer, TERMINAL)
        finally:
            for client in clients:
                cleanup.stop(client, timeout=30)
            await api.aclose()

    if config.profile:
        return None
    outcomes = [json.loads((work / f"client-{i}.json").read_text()) for i in range(procs)]
    fatal = [o["fatal"] for o in outcomes if "fatal" in o]
    if fatal:
        raise GraphQLFailed("client process failed: " + "; ".join(fatal))
    lags = array.array("d")
    for i in range(procs):
        with (work / f"client-{i}.json.lags").open("rb") as handle:
            lags.frombytes(handle.read())
    return Fanout(
        subscribers=n,
        processes=procs,
        complete=sum(o["complete"] for o in outcomes),
        lines=sum(o["lines"] for o in outcomes),
        errors=sum(o["error_count"] for o in outcomes),
        seq_gaps=sum(o["seq_gaps"] for o in outcomes),
        lag=Summary.of(lags.tolist()),
        rss_before=rss_before,
        rss_after=rss_after,
        connect_seconds=connect_seconds,
        fanout_seconds=fanout_seconds,
        cpu_fanout=cpu_fanout,
        client_cpu=sum(o.get("cpu_after_ready", 0.0) for o in outcomes),
        printer_status=printer_status,
        blocker_status=blocker_status,
        outcomes=outcomes,
    )


async def run(config: Config) -> BenchResult:
    result = BenchResult("B4", "subscribers on one execution printing lines")
    headline = config.b4_subscribers
    sizes = [headline] if config.profile else sorted({*config.b4_scales, headline})
    figures: dict[int, Fanout] = {}
    for n in sizes:
        measured = await fanout(config, n)
        if measured is not None:
            figures[n] = measured
    if config.profile:
        return result
    main = figures[headline]
    largest = figures[sizes[-1]]
    lines = config.b4_lines
    result.rows = [
        Row(
            "B4",
            f"{headline:,} subscribers x {lines:,} lines: complete and in order",
            f"{main.complete:,} of {headline:,}",
            f"{main.lines:,} of {headline * lines:,} lines",
            "-",
            "-",
            "every subscriber gets every line in order",
            main.all_delivered(lines),
        ),
        Row(
            "B4",
            "delivery lag (print → received) p99",
            f"{num(main.lag.p99)} ms",
            f"p50 {num(main.lag.median)} ms, max {num(main.lag.maximum)} ms",
            "-",
            "-",
            f"p99 ≤ {LAG_GOAL_MS} ms",
            main.lag.p99 <= LAG_GOAL_MS,
        ),
        Row(
            "B4",
            "service memory per idle subscriber",
            f"{num(main.per_subscriber / KiB, 1)} KiB",
            f"RSS {num(main.rss_before / 2**20, 1)} -> {num(main.rss_after / 2**20, 1)} MiB",
            "-",
            "-",
            f"≤ {MEMORY_GOAL_KIB} KiB",
            main.per_subscriber <= MEMORY_GOAL_KIB * KiB,
        ),
    ]
    if largest is not main:
        big = largest.subscribers
        result.rows += [
            Row(
                "B4",
                f"{big:,} subscribers x {lines:,} lines: complete and in order",
                f"{largest.complete:,} of {big:,}",
                f"{largest.lines:,} of {big * lines:,} lines",
                "-",
                "-",
                "every subscriber gets every line in order",
                largest.all_delivered(lines),
            ),
            Row(
                "B4",
                f"{big:,} subscribers: service memory per idle subscriber",
                f"{num(largest.per_subscriber / KiB, 1)} KiB",
                f"RSS {num(largest.rss_before / 2**20, 1)} -> "
                f"{num(largest.rss_after / 2**20, 1)} MiB",
                "-",
                "-",
                f"≤ {MEMORY_GOAL_KIB} KiB",
                largest.per_subscriber <= MEMORY_GOAL_KIB * KiB,
            ),
        ]
    result.rows += [
        Row(
            "B4",
            f"scaling, {n:,} subscribers: lag p50 / p99; memory per subscriber; service CPU",
            f"{num(f.lag.median)} / {num(f.lag.p99)} ms",
            f"{num(f.per_subscriber / KiB, 1)} KiB; {f.cpu_fanout:.1f} s CPU "
            f"({f.fanout_seconds:.1f} s); all in order: {_yes(f.all_delivered(lines))}",
            "-",
            "-",
            "-",
            None,
        )
        for n, f in sorted(figures.items())
    ]
    result.notes = [
        f"The printing script writes {lines:,} lines `<i> <time.time()>`, one every "
        f"{config.b4_line_interval_ms:g} ms (about "
        f"{lines * config.b4_line_interval_ms / 1000:g} s); the sandbox forwards "
        "output within 5 ms and the worker gathers it for up to 50 ms, so each event "
        "carries a few lines. Lag = receive time in the client minus the time printed "
        "(same machine clock); a line cut across two events counts when its end arrives. "
        "The clients note each message's arrival and read its lines once their streams have "
        "ended, so that their work competes as little as it can with the service's.",
        "Every size runs on a fresh `scriptbox serve`: "
        + "; ".join(
            f"{n:,} subscribers in {f.processes} client processes, subscribed in "
            f"{f.connect_seconds:.1f} s, fan-out {f.fanout_seconds:.1f} s with "
            f"{f.cpu_fanout:.1f} s of service CPU and {f.client_cpu:.1f} s of the clients'"
            for n, f in sorted(figures.items())
        )
        + " (graphql-transport-ws; the clients offer permessage-deflate, as browsers do, "
        "and share the 2 cores with the service, so part of the lag is theirs). The "
        "subscription asks for `seq status stream data`; every subscriber checks every "
        f"line's order and every `seq`. Printer status: {main.printer_status}; blocker: "
        f"{main.blocker_status}; client errors: {sum(f.errors for f in figures.values())}.",
        "Memory: median VmRSS of the `scriptbox serve` process (5 samples) before the "
        "clients connect and 2 s after all subscriptions have their first event, divided by "
        "the number of subscribers.",
    ]
    result.raw = {
        **main.raw(),
        "scales": {str(n): f.raw() for n, f in sorted(figures.items())},
    }
    return result


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
