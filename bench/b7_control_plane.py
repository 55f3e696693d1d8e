"""B7: the control plane alone, on PostgreSQL and Redis: submit → claim →
run → finish → terminal event, with a sandbox that answers at once
(bench/b7_worker.py), for 1, 2, 4 and 8 worker processes and a queue of 0,
1,000 and 10,000 executions.

- 0 queued: executions submitted through `ExecutionService.submit` (what
  `runScript` calls once it has the script: checks, insert, the script's
  last run, the QUEUED event and the workers' wake-up on Redis) by 16
  concurrent tasks in this process, each counted done when its terminal
  event arrives on the owner's Redis stream.
- N queued: the workers are paused (SIGSTOP), N rows inserted as QUEUED
  (the rows `submit` makes, in bulk), the workers resumed and woken; the
  clock runs from the resumption to the last `finished_at`.

Claim latency: every claim statement that found a row, timed in the
workers; "with N queued" takes the claims of the first tenth of the drain
(the queue still holds 90-100% of N).

Baseline, in the same database: a raw claim loop on a table of its own
shaped like `executions` (same indexes): per worker one asyncpg connection
doing `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING
id`, then the UPDATE that finishes the row; nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import cpuacct
from bench.config import Config
from bench.gql import Api
from bench.results import BenchResult, Row
from bench.service import ROOT, Process, scriptbox_serve, service_env, temp_dir
from bench.stats import num

SCRIPT = "def main(data):\n    return data\n"
SUBMITTERS = 16
DEADLINE_SECONDS = 300.0
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED"}

# Shaped like `executions`, its indexes included, so the raw loop meets the
# same index choices as the service's claim; its defaults too, so columns
# the service's rows get from defaults need no place in RAW_ROWS.
RAW_TABLE = "CREATE TABLE b7_raw_queue (LIKE executions INCLUDING INDEXES INCLUDING DEFAULTS)"
RAW_ROWS = """
INSERT INTO b7_raw_queue (id, owner_id, script_id, script_version, status, input_json,
    stdout, stderr, output_truncated, timeout_seconds, cancel_requested, input_files,
    rejected_artifacts, queued_at)
SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 1, 'queued', '{}', '', '',
    false, 30, false, '[]', '[]', now() + make_interval(secs => g / 1000.0)
FROM generate_series(1, $1) AS g
"""
RAW_CLAIM = """
UPDATE b7_raw_queue SET status = 'running', worker = $1, started_at = now()
WHERE id = (
    SELECT id FROM b7_raw_queue WHERE status = 'queued'
    ORDER BY queued_at LIMIT 1 FOR UPDATE SKIP LOCKED
)
RETURNING id
"""
RAW_FINISH = "UPDATE b7_raw_queue SET status = 'succeeded', finished_at = now() WHERE id = $1"


@dataclasses.dataclass
class Phase:
    workers: int
    queued: int
    executions: int
    rate: float
    claim_ms: list[float]
    latency_ms: list[float] = dataclasses.field(default_factory=list)
    empty_claims: int = 0  # claim statements that found no row
    # Of each claim in claim_ms, how long the worker's event loop waited for
    # a core meanwhile (runnable, not running).
    claim_core_wait_ms: list[float] = dataclasses.field(default_factory=list)
    # The share of the phase during which some process on the machine waited
    # for a core (the kernel's CPU pressure, "some").
    cpu_pressure: float = float("nan")
    # Wall-clock window of the phase, for the workers' claim logs.
    window: tuple[float, float] = (0.0, 0.0)
    # Cores busy on average during a submitting phase, by who used them.
    cores: dict[str, float] = dataclasses.field(default_factory=dict)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _worker(tag: str, data_dir: Path, claim_log: Path, settings: dict[str, str]) -> Process:
    name = f"bench-b7-{tag}-{secrets.token_hex(3)}"
    env = service_env(data_dir, name, **settings)
    env["B7_CLAIM_LOG"] = str(claim_log)
    args = [sys.executable, "-m", "bench.b7_worker"]
    return Process(args, env, data_dir / f"{name}.log", serves_http=False).start()


async def _wait_for_heartbeats(names: int, since: float) -> None:
    from datetime import UTC, datetime

    from models.executions import WorkerHeartbeat

    deadline = time.monotonic() + 60
    started = datetime.fromtimestamp(since, UTC)
    while await WorkerHeartbeat.filter(started_at__gte=started).count() < names:
        if time.monotonic() > deadline:
            raise TimeoutError("the B7 workers did not start")
        await asyncio.sleep(0.1)


# Who shares the cores while runs are submitted (process names as /proc/<pid>/stat gives them).
DATABASE_PROCESSES = ("postgres",)
REDIS_PROCESSES = ("redis-server",)


def _cpu_now(workers: list[Process]) -> dict[str, float]:
    return {
        "machine": cpuacct.machine_busy(),
        "the submitting process (the bench, in the API's place)": time.process_time(),
        "workers": cpuacct.of_pids([w.pid for w in workers]),
        "PostgreSQL": sum(cpuacct.named(DATABASE_PROCESSES).values()),
        "Redis": sum(cpuacct.named(REDIS_PROCESSES).values()),
    }


async def _stream(
    service: Any, caller: Any, script: Any, bus: Any, count: int, workers: list[Process]
) -> Phase:
    """`count` submissions at full speed; each done at its terminal event."""
    owner = str(caller.id)
    updates = await bus.subscribe_owner(owner)
    submitted: dict[str, float] = {}
    ended: dict[str, float] = {}
    next_index = 0

    async def submitter() -> None:
        nonlocal next_index
        while next_index < count:
            next_index += 1
            started = time.perf_counter()
            row = await service.submit(caller, script, {"i": next_index}, None)
            submitted[str(row.id)] = started

    async def reader() -> None:
        async for event in updates:
            if event.is_terminal:
                ended[event.execution_id] = time.perf_counter()
            if len(submitted) == count and all(i in ended for i in submitted):
                return

    wall = time.time()
    first = time.perf_counter()
    cpu_before = _cpu_now(workers)
    reading = asyncio.create_task(reader())
    await asyncio.gather(*(submitter() for _ in range(SUBMITTERS)))
    await asyncio.wait_for(reading, DEADLINE_SECONDS)
    cpu_after, span = _cpu_now(workers), time.perf_counter() - first
    cores = {who: (cpu_after[who] - cpu_before[who]) / span for who in cpu_before}
    last = max(ended[i] for i in submitted)
    latencies = [(ended[i] - submitted[i]) * 1000 for i in submitted]
    window = (wall, wall + last - first)
    return Phase(0, 0, count, count / (last - first), [], latencies, window=window, cores=cores)


async def _backlog(
    lifecycle: Any, caller: Any, script: Any, bus: Any, workers: list[Process], queued: int
) -> tuple[float, float, float]:
    """(resumed at, rate, last finish) of a drain of `queued` rows."""
    from core.statuses import ExecutionStatus
    from models.executions import Execution
    from services.executions.lifecycle import new_execution

    for process in workers:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        rows = [new_execution(caller.id, script, json.dumps({"i": i}), 30.0) for i in range(queued)]
        for start in range(0, queued, 1000):
            await lifecycle.create(rows[start : start + 1000])
    finally:
        resumed = time.time()
        for process in workers:
            os.kill(process.pid, signal.SIGCONT)
    await bus.notify_queued()
    deadline = time.monotonic() + DEADLINE_SECONDS
    pending = [ExecutionStatus.QUEUED, ExecutionStatus.RUNNING]
    while await Execution.filter(owner_id=caller.id, status__in=pending).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{queued} queued executions did not drain in time")
        await asyncio.sleep(0.1)
    newest = (
        await Execution.filter(owner_id=caller.id, queued_at__gte=rows[0].queued_at)
        .order_by("-finished_at")
        .first()
    )
    assert newest is not None and newest.finished_at is not None
    failed = (
        await Execution.filter(owner_id=caller.id, queued_at__gte=rows[0].queued_at)
        .exclude(status=ExecutionStatus.SUCCEEDED)
        .count()
    )
    if failed:
        raise RuntimeError(f"{failed} of {queued} B7 executions did not succeed")
    last = newest.finished_at.timestamp()
    return resumed, queued / (last - resumed), last


async def _raw_loop(database_url: str, workers: int, rows: int) -> tuple[float, list[float]]:
    """Rate and claim latencies of the raw SKIP LOCKED loop over `rows` rows."""
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute("TRUNCATE b7_raw_queue")
        await admin.execute(RAW_ROWS, rows)
        await admin.execute("ANALYZE b7_raw_queue")
    finally:
        await admin.close()
    claims: list[tuple[float, float]] = []
    connections = [await asyncpg.connect(database_url) for _ in range(workers)]

    async def loop(connection: asyncpg.Connection, name: str) -> None:
        while True:
            started = time.perf_counter()
            claimed = await connection.fetchval(RAW_CLAIM, name)
            if claimed is None:
                return
            claims.append((started, (time.perf_counter() - started) * 1000))
            await connection.execute(RAW_FINISH, claimed)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(loop(c, f"raw-{i}") for i, c in enumerate(connections)))
        elapsed = time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
    claims.sort()
    first_tenth = [ms for _, ms in claims[: max(1, len(claims) // 10)]]
    return rows / elapsed, first_tenth


def _claims_between(
    logs: list[Path], start: float, end: float
) -> tuple[list[float], list[float], int]:
    """Durations of the claims that found a row, how long each waited for a
    core, and the number of claims that found none."""
    found: list[float] = []
    waited: list[float] = []
    empty = 0
    for path in logs:
        if not path.exists():
            continue
        for at, ms, hit, core_wait in json.loads(path.read_text()):
            if start <= at <= end:
                if hit:
                    found.append(ms)
                    waited.append(core_wait)
                else:
                    empty += 1
    return found, waited, empty


def _cpu_pressure_total_us() -> int:
    """Microseconds during which some task waited for a core (PSI), in all."""
    with open("/proc/pressure/cpu") as f:
        for line in f:
            if line.startswith("some"):
                return int(line.rsplit("total=", 1)[1])
    return 0


def _slowest_core_wait(phase: Phase, share: float = 0.01) -> float:
    """The median core wait of the slowest `share` of the phase's claims."""
    pairs = sorted(zip(phase.claim_ms, phase.claim_core_wait_ms, strict=True))
    slowest = pairs[-max(1, round(len(pairs) * share)) :]
    return statistics.median(waited for _, waited in slowest) if slowest else float("nan")


async def run(config: Config) -> BenchResult:
    from core.settings import Settings
    from harness.postgres import fresh_postgres_database
    from models import db
    from models.tree import Script
    from models.users import User
    from services.access import Caller
    from services.executions.lifecycle import ExecutionLifecycle
    from services.executions.service import ExecutionService
    from services.redis_events import RedisEventBus

    result = BenchResult("B7", "the control plane alone (PostgreSQL + Redis, instant sandbox)")
    services_up = [str(ROOT / "scripts" / "services-up.sh")]
    await asyncio.to_thread(subprocess.run, services_up, check=True, capture_output=True)
    data_dir = temp_dir("b7")
    phases: list[Phase] = []
    raw: dict[tuple[int, int], tuple[float, list[float]]] = {}
    redis_url = "redis://127.0.0.1:6379/0"
    prefix = f"scriptbox-bench-b7-{secrets.token_hex(4)}:"
    async with fresh_postgres_database() as database_url:
        shared = {
            "database_url": database_url,
            "redis_url": redis_url,
            "redis_prefix": prefix,
            "jwt_secret": secrets.token_urlsafe(32),
            "scheduler": "false",
        }
        api = scriptbox_serve("b7-api", data_dir, embedded_worker="false", **shared)
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                client = await Api(api.url, http=http).register("b7")
                script_id = await client.create_script("b7.py", SCRIPT)
        finally:
            api.stop()
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute(RAW_TABLE)
        finally:
            await admin.close()
        await db.connect(database_url)
        settings = dataclasses.replace(Settings(), max_queued_per_user=10**9)
        bus = RedisEventBus(redis_url, prefix)
        service = ExecutionService(settings, bus)
        lifecycle = ExecutionLifecycle(bus)
        try:
            script = await Script.get(id=script_id)
            caller = Caller(user=await User.get(id=script.owner_id))
            worker_settings = {
                **shared,
                "worker_concurrency": str(config.b7_concurrency),
                "auto_migrate": "false",
            }
            for count in config.b7_workers:
                logs = [data_dir / f"claims-{count}-{i}.json" for i in range(count)]
                since = time.time() - 1
                workers = [
                    _worker(f"{count}w{i}", data_dir, logs[i], worker_settings)
                    for i in range(count)
                ]
                measured: list[Phase] = []
                try:
                    await _wait_for_heartbeats(count, since)
                    await _stream(
                        service, caller, script, bus, max(50, config.b7_stream // 10), workers
                    )
                    for queued in config.b7_queued:
                        pressure, clock = _cpu_pressure_total_us(), time.monotonic()
                        if queued == 0:
                            phase = await _stream(
                                service, caller, script, bus, config.b7_stream, workers
                            )
                            phase.workers = count
                            phase.cpu_pressure = _pressure_since(pressure, clock)
                            measured.append(phase)
                            print(
                                f"B7: {count} worker(s), 0 queued: {phase.rate:.0f}/s",
                                file=sys.stderr,
                            )
                            continue
                        resumed, rate, last = await _backlog(
                            lifecycle, caller, script, bus, workers, queued
                        )
                        # The first tenth of the drain: the queue still
                        # holds 90-100% of N.
                        window = (resumed, resumed + (last - resumed) / 10)
                        phase = Phase(count, queued, queued, rate, [], window=window)
                        phase.cpu_pressure = _pressure_since(pressure, clock)
                        measured.append(phase)
                        print(
                            f"B7: {count} worker(s), {queued} queued: {rate:.0f}/s", file=sys.stderr
                        )
                finally:
                    for process in workers:
                        process.stop()
                for phase in measured:
                    found = _claims_between(logs, *phase.window)
                    phase.claim_ms, phase.claim_core_wait_ms, phase.empty_claims = found
                    phases.append(phase)
                for queued in config.b7_queued:
                    raw[(count, queued)] = await _raw_loop(
                        database_url, count, queued or config.b7_stream
                    )
        finally:
            await bus.close()
            await db.disconnect()

    result.rows, result.notes = _report(config, phases, raw)
    result.raw = {
        "phases": [dataclasses.asdict(p) for p in phases],
        "raw_loop": {f"{w}x{q}": {"rate": r, "claim_ms": c} for (w, q), (r, c) in raw.items()},
    }
    return result


def _pressure_since(total_us: int, clock: float) -> float:
    return (_cpu_pressure_total_us() - total_us) / 1e6 / max(time.monotonic() - clock, 1e-9)


def _report(
    config: Config, phases: list[Phase], raw: dict[tuple[int, int], tuple[float, list[float]]]
) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    stream = [p for p in phases if p.queued == 0]
    if stream:
        best = max(stream, key=lambda p: p.rate)
        raw_best = raw[(best.workers, 0)][0]
        rows.append(
            Row(
                "B7",
                f"submit → terminal event: executions/s ({best.executions} submitted, "
                f"best of {', '.join(map(str, config.b7_workers))} workers)",
                f"{num(best.rate)}/s",
                f"{best.workers} workers; submit → terminal p50 "
                f"{num(statistics.median(best.latency_ms), 1)} ms, "
                f"p99 {num(_pct(best.latency_ms, 0.99), 1)} ms; cores busy: "
                + ", ".join(f"{who} {busy:.2f}" for who, busy in best.cores.items()),
                f"raw SKIP LOCKED loop, {best.workers} connections: {num(raw_best)}/s",
                f"{ratio_text(best.rate, raw_best)}",
                "≥ 250/s",
                best.rate >= 250,
            )
        )
    big = max(config.b7_queued)
    deep = [p for p in phases if p.queued == big and p.claim_ms]
    if big and deep:
        worst = max(deep, key=lambda p: _pct(p.claim_ms, 0.99))
        p99 = _pct(worst.claim_ms, 0.99)
        raw_claims = raw[(worst.workers, big)][1]
        rows.append(
            Row(
                "B7",
                f"claim p99 with {big:,} queued (worst of the worker counts)",
                f"{num(p99, 1)} ms",
                f"{worst.workers} workers: p50 {num(statistics.median(worst.claim_ms), 1)} ms, "
                f"{len(worst.claim_ms)} claims; the slowest 1% waited a median "
                f"{num(_slowest_core_wait(worst), 1)} ms for a core",
                f"raw claim p99 {num(_pct(raw_claims, 0.99), 1)} ms",
                f"{ratio_text(_pct(raw_claims, 0.99), p99)}",
                "p99 ≤ 10 ms",
                p99 <= 10,
            )
        )
    for count in config.b7_workers:
        cells, claims = [], []
        for queued in config.b7_queued:
            phase = next((p for p in phases if p.workers == count and p.queued == queued), None)
            if phase is None:
                continue
            cells.append(f"{queued:,}: {num(phase.rate)}/s")
            claims.append(
                f"{queued:,}: claim p99 {num(_pct(phase.claim_ms, 0.99), 1)} ms"
                + (f", {phase.empty_claims} empty" if phase.empty_claims else "")
                + f", cores contended {phase.cpu_pressure:.0%} of the time"
            )
        raw_cells = [
            f"{queued:,}: {num(raw[(count, queued)][0])}/s"
            for queued in config.b7_queued
            if (count, queued) in raw
        ]
        rows.append(
            Row(
                "B7",
                f"{count} worker(s), executions/s by queued",
                "; ".join(cells),
                "; ".join(claims),
                "raw loop " + "; ".join(raw_cells),
                "-",
                "-",
                None,
            )
        )
    notes = [
        f"Workers: `python -m bench.b7_worker` processes (the real worker with a sandbox that "
        f"returns the input at once, built only in bench/), concurrency {config.b7_concurrency} "
        "each, on one PostgreSQL and one Redis on this machine; the bench process submits and "
        "listens. Every process shares the 2 cores.",
        f"0 queued: {config.b7_stream} submissions by {SUBMITTERS} concurrent tasks through "
        "`ExecutionService.submit`; rate = submissions / (last terminal event - first "
        "submission). N queued: workers paused with SIGSTOP, N QUEUED rows inserted in bulk, "
        "workers resumed; rate = N / (last `finished_at` - resumption).",
        "Claim latency: the claim statement (`claim_next_execution`) timed in the workers "
        "(as their event loops see it), claims that found a row; with N queued, those of the "
        "first tenth of the drain (the queue still held 90-100% of N); the raw loop's "
        "likewise. Empty: claim statements that found nothing (a worker woken for a row "
        "another one took).",
        "Waiting for a core: of a claim, the time the worker's event-loop thread was "
        "runnable but not running (/proc/thread-self/schedstat; the PostgreSQL backend's own "
        "waits are not in it); 'cores contended': the share of the phase during which some "
        "process on the machine waited for a core (/proc/pressure/cpu, some).",
        "Baseline: a raw `UPDATE ... WHERE id = (SELECT ... ORDER BY queued_at LIMIT 1 FOR "
        "UPDATE SKIP LOCKED) RETURNING id` plus the finishing UPDATE, one asyncpg connection "
        "per worker, on a table of its own in the same database made `LIKE executions "
        "INCLUDING INDEXES INCLUDING DEFAULTS`.",
    ]
    return rows, notes


def ratio_text(service: float, baseline: float) -> str:
    """How the service compares with the baseline (higher is better for both)."""
    if not service or not baseline:
        return "-"
    return f"{service / baseline:.2f}x"
