"""B5: an authenticated `me` query over HTTP, 50 clients back to back for
10 s. Baseline: a bare Strawberry hello-world on the same stack and uvicorn
settings, driven by the same load generator; rounds alternate."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench import profiling
from bench.config import Config
from bench.gql import Api
from bench.loadgen import Load, graphql_request, run_load
from bench.results import BenchResult, Row
from bench.service import hello_world, scriptbox_serve
from bench.stats import Summary, num, ratio

ME = "{ me { id username } }"
HELLO = "{ hello }"


async def run(config: Config) -> BenchResult:
    result = BenchResult("B5", "authenticated `me` over HTTP vs a hello-world")
    me_loads: list[Load] = []
    hello_loads: list[Load] = []
    with scriptbox_serve("b5") as service, hello_world() as hello:
        api = await Api(service.url).register("b5")
        try:
            token = api.token
        finally:
            await api.aclose()
        me_request = graphql_request(service.url + "/graphql", ME, token)
        hello_request = graphql_request(hello.url + "/graphql", HELLO)
        # Warm-up, then alternating rounds so both see the same noise.
        await run_load(service.url, me_request, config.b5_clients, 1.0, b'"username"')
        await run_load(hello.url, hello_request, config.b5_clients, 1.0, b'"world"')
        if config.profile:
            with profiling.phase("B5-service", service.pid):
                await run_load(
                    service.url, me_request, config.b5_clients, config.b5_seconds, b'"username"'
                )
            return result
        cpu: dict[str, list[float]] = {"me": [], "hello": []}
        for _ in range(config.b5_rounds):
            for name, target, request, expect, loads in (
                ("hello", hello, hello_request, b'"world"', hello_loads),
                ("me", service, me_request, b'"username"', me_loads),
            ):
                before = _cpu_seconds(target.pid)
                started = time.monotonic()
                loads.append(
                    await run_load(
                        target.url, request, config.b5_clients, config.b5_seconds, expect
                    )
                )
                cpu[name].append((_cpu_seconds(target.pid) - before) / (time.monotonic() - started))
    me = Summary.of([load.rps for load in me_loads])
    base = Summary.of([load.rps for load in hello_loads])
    me_latency = Summary.of([ms for load in me_loads for ms in load.latencies_ms])
    hello_latency = Summary.of([ms for load in hello_loads for ms in load.latencies_ms])
    errors = sum(load.errors for load in me_loads + hello_loads)
    result.rows = [
        Row(
            "B5",
            f"`me` with a Bearer token, {config.b5_clients} clients: requests/s",
            f"{num(me.median)}/s",
            f"{me.range('/s')} over {me.n} rounds of {config.b5_seconds:g} s",
            f"hello-world {num(base.median)}/s ({base.range('/s')})",
            ratio(me.median / base.median),
            "≥ 1.0x the baseline",
            me.median >= base.median and errors == 0,
        ),
        Row(
            "B5",
            "`me` latency p50 / p99",
            f"{num(me_latency.median, 1)} / {num(me_latency.p99, 1)} ms",
            "-",
            f"hello-world {num(hello_latency.median, 1)} / {num(hello_latency.p99, 1)} ms",
            "-",
            "-",
            None,
        ),
    ]
    result.notes = [
        f"Both servers are single uvicorn processes started as `make run` starts the service "
        f"(log level info, so one access-log line per request, written to a file); the load "
        f"generator (bench/loadgen.py: raw asyncio, one keep-alive connection per client) runs "
        f"in the bench process on the same {os.cpu_count()} cores. {errors} errors.",
        f"Server CPU while loaded (cores busy, median of rounds): service "
        f"{num(Summary.of(cpu['me']).median, 2)}, hello-world "
        f"{num(Summary.of(cpu['hello']).median, 2)}. The service's `me` checks the token and "
        "reads the caller's session (the user, the login, their reach), which commits with "
        "services/session_cache.py keep for up to 0.5 s per token.",
    ]
    result.raw = {
        "me_rps": [load.rps for load in me_loads],
        "hello_rps": [load.rps for load in hello_loads],
        "me_latency": me_latency.as_dict(),
        "hello_latency": hello_latency.as_dict(),
        "server_cpu": cpu,
        "errors": errors,
    }
    return result


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
