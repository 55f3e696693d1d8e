"""B6 (scale-out): completions per second with 1, 2 and 3 worker processes on
one PostgreSQL and one Redis, and the queue's claim latency.

    .venv/bin/python -m bench.b6_scale          # writes its section of BENCHMARKS.md

Starts everything it needs on 127.0.0.1 (PostgreSQL and Redis through
scripts/services-up.sh, a fresh database, one API process and the workers as
`scriptbox serve` / `scriptbox worker` subprocesses) and stops it all at the
end. Bounded: 100 executions per worker count, 20 sequential runs for the
claim latency, every wait capped."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.gql import Api
from bench.service import Process, scriptbox_serve, scriptbox_worker, temp_dir
from harness.postgres import fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent
RUNS = 100
CLAIM_RUNS = 20
DEADLINE_SECONDS = 300
SCRIPT = "def main(data):\n    return data\n"
RUN = "mutation($input: RunScriptInput!) { runScript(input: $input) { id } }"
BEGIN, END = "<!-- scale-out: begin -->", "<!-- scale-out: end -->"


async def _wait_all_terminal(client: Api, ids: set[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    query = """query($after: String) { executions(first: 200, after: $after)
      { id status queuedAt startedAt finishedAt cursor } }"""
    while True:
        rows: list[dict[str, Any]] = []
        after = None
        while True:
            page = (await client.data(query, {"after": after}))["executions"]
            rows += page
            if len(page) < 200:
                break
            after = page[-1]["cursor"]
        mine = [r for r in rows if r["id"] in ids]
        if all(r["status"] not in ("QUEUED", "RUNNING") for r in mine) and len(mine) == len(ids):
            return mine
        if time.monotonic() > deadline:
            raise TimeoutError("executions did not finish in time")
        await asyncio.sleep(0.05)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


async def _throughput(client: Api, script_id: str) -> float:
    started = time.monotonic()
    ids = set()
    for i in range(RUNS):
        body = await client.data(RUN, {"input": {"scriptId": script_id, "input": i}})
        ids.add(body["runScript"]["id"])
    rows = await _wait_all_terminal(client, ids)
    elapsed = max(_ts(r["finishedAt"]) for r in rows) - min(_ts(r["queuedAt"]) for r in rows)
    assert all(r["status"] == "SUCCEEDED" for r in rows), rows
    return RUNS / max(elapsed, time.monotonic() - started if elapsed <= 0 else elapsed)


async def _claim_latency(client: Api, script_id: str) -> list[float]:
    latencies = []
    for i in range(CLAIM_RUNS):
        body = await client.data(RUN, {"input": {"scriptId": script_id, "input": i}})
        [row] = await _wait_all_terminal(client, {body["runScript"]["id"]})
        latencies.append((_ts(row["startedAt"]) - _ts(row["queuedAt"])) * 1000)
        await asyncio.sleep(0.3)  # idle workers, as between real submissions
    return latencies


async def run() -> dict[str, Any]:
    results: dict[str, Any] = {"workers": {}}
    data_dir = temp_dir("b6")
    async with fresh_postgres_database() as database_url:
        shared = {
            "database_url": database_url,
            "redis_url": "redis://127.0.0.1:6379/0",
            "redis_prefix": f"scriptbox-bench-{secrets.token_hex(4)}:",
            "jwt_secret": secrets.token_urlsafe(32),
            "max_queued_per_user": "1000",
            "scheduler": "false",
        }
        api = scriptbox_serve("b6-api", data_dir, embedded_worker="false", **shared)
        workers: list[Process] = []
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                client = await Api(api.url, http=http).register("bench")
                script_id = await client.create_script("b6.py", SCRIPT)
                for count in (1, 2, 3):
                    while len(workers) < count:
                        workers.append(scriptbox_worker("b6", data_dir, **shared).start())
                    await asyncio.sleep(3)  # warm pools filled
                    rate = await _throughput(client, script_id)
                    results["workers"][count] = rate
                    print(f"B6: {count} worker(s): {rate:.2f} completions/s", file=sys.stderr)
                latencies = await _claim_latency(client, script_id)
                results["claim_ms"] = latencies
        finally:
            for process in [api, *workers]:
                process.stop()
    return results


def _machine() -> str:
    cores = os.cpu_count()
    docker = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True
    ).stdout.strip()
    return f"{cores} cores, Docker {docker}"


def write_section(results: dict[str, Any]) -> None:
    claims = sorted(results["claim_ms"])
    p95 = claims[max(0, round(0.95 * (len(claims) - 1)))]
    one = results["workers"][1]
    lines = [
        BEGIN,
        "",
        "## B6 (scale-out): workers on PostgreSQL and Redis",
        "",
        "`.venv/bin/python -m bench.b6_scale`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{_machine()}. One API process and N `scriptbox worker` processes (each: "
        "concurrency 2, warm pool 2) on one PostgreSQL and one Redis, all on this machine. "
        f"{RUNS} trivial `main` executions per N, submitted one after another through the API; "
        "rate = executions / (last finish - first queued).",
        "",
        "| workers | completions/s | vs 1 worker |",
        "|---|---|---|",
        *(
            f"| {n} | {rate:.2f} | {rate / one:.2f}x |"
            for n, rate in sorted(results["workers"].items())
        ),
        "",
        f"Claim latency (queued → claimed by an idle worker, {len(claims)} runs, 3 workers): "
        f'p50 {statistics.median(claims):.0f} ms, p95 {p95:.0f} ms. A "queued" signal on '
        "Redis wakes idle workers; the claim is one `UPDATE ... WHERE id = (SELECT ... FOR "
        "UPDATE SKIP LOCKED)`.",
        "",
        "This machine has 2 cores shared by every process and every sandbox: more workers "
        "add concurrency but no CPU, so the rate flattens once the cores are busy. On real "
        "worker machines each worker brings its own cores and Docker engine.",
        "",
        END,
    ]
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = "\n".join(lines)
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    subprocess.run([str(ROOT / "scripts" / "services-up.sh")], check=True)
    results = asyncio.run(run())
    write_section(results)
    print(f"B6 written to BENCHMARKS.md: {results['workers']}", file=sys.stderr)


if __name__ == "__main__":
    main()
