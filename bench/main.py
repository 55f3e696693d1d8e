"""`python -m bench`: run the benchmarks, save their figures, write BENCHMARKS.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from bench import b1_latency, b2_throughput, cleanup, dockerrun, machine
from bench.config import QUICK, Config
from bench.results import BenchResult
from bench.service import ROOT

BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
SCRATCH_DIR = BENCH_DIR / ".out"

Runner = Callable[[Config], Awaitable[BenchResult]]
BENCHMARKS: dict[str, Runner] = {
    "B1": b1_latency.run,
    "B2": b2_throughput.run,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", help="comma-separated ids, e.g. B1,B3 (default: all)")
    parser.add_argument(
        "--label",
        choices=("before", "after"),
        default="after",
        help="which column of BENCHMARKS.md these figures fill (default: after)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def run_all(ids: list[str], config: Config) -> list[BenchResult]:
    results = []
    for bench_id in ids:
        log(f"{bench_id} ...")
        started = time.monotonic()
        try:
            result = await BENCHMARKS[bench_id](config)
        except Exception as exc:
            log(f"{bench_id} failed: {exc!r}")
            traceback.print_exc()
            result = BenchResult(bench_id, bench_id, error=f"{type(exc).__name__}: {exc}")
        result.seconds = time.monotonic() - started
        for row in result.rows:
            log(f"  {row.what}: {row.median} ({row.spread}) vs {row.baseline}: {row.ratio}")
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = QUICK if args.quick else Config()
    ids = [i.strip().upper() for i in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = [i for i in ids if i not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    with cleanup.guarded():
        reaped = cleanup.reap_stale()
        if reaped:
            log(f"removed {reaped} containers of an earlier, dead bench run")
        if not dockerrun.image_present():
            print(
                "the sandbox image is missing: run scripts/build-sandbox-image.sh", file=sys.stderr
            )
            return 2
        info = machine.describe()
        log(machine.one_line(info))
        started = time.monotonic()
        results = asyncio.run(run_all(ids, config))
        payload: dict[str, Any] = {
            "machine": info,
            "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
            "seconds": time.monotonic() - started,
            "results": [r.as_dict() for r in results],
        }
        SCRATCH_DIR.mkdir(exist_ok=True)
        (SCRATCH_DIR / "last.json").write_text(json.dumps(payload, indent=1))
    return 0
