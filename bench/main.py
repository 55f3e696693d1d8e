"""`python -m bench`: run the benchmarks, save their figures, profile the ones
that miss a goal, and write BENCHMARKS.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import (
    b1_latency,
    b2_throughput,
    b3_tree,
    b4_fanout,
    b5_http,
    b7_control_plane,
    cleanup,
    dockerrun,
    machine,
    profiling,
    report,
)
from bench.config import PROFILE, QUICK, Config
from bench.results import BenchResult
from bench.service import ROOT

# Where results and the report go: this checkout, also when the code under
# test is a snapshot (--at) run from a temporary directory.
OUTPUT_ROOT = Path(os.environ.get("SCRIPTBOX_BENCH_OUTPUT") or ROOT)
RESULTS_DIR = OUTPUT_ROOT / "bench" / "results"
SCRATCH_DIR = OUTPUT_ROOT / "bench" / ".out"
REPORT = OUTPUT_ROOT / "BENCHMARKS.md"

Runner = Callable[[Config], Awaitable[BenchResult]]
BENCHMARKS: dict[str, Runner] = {
    "B1": b1_latency.run,
    "B1I": b1_latency.run_importing,
    "B2": b2_throughput.run,
    "B3": b3_tree.run,
    "B4": b4_fanout.run,
    "B5": b5_http.run,
    "B7": b7_control_plane.run,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", help="comma-separated ids, e.g. B1,B3 (default: all)")
    parser.add_argument(
        "--label",
        choices=("before", "after"),
        default="after",
        help="the column of BENCHMARKS.md these figures fill (default: after)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes; writes no report")
    parser.add_argument(
        "--no-profile", action="store_true", help="skip the py-spy pass over the misses"
    )
    parser.add_argument(
        "--at",
        metavar="REV",
        help="benchmark the code of this commit (git archive into a temporary directory, "
        "with this bench/) instead of the working tree, e.g. --at HEAD on a shared checkout",
    )
    parser.add_argument(
        "--profile-only",
        action="store_true",
        help="only the py-spy pass (over --only, default all); merged into --label's results",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite BENCHMARKS.md from saved results"
    )
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


async def profile_misses(ids: list[str]) -> dict[str, Any]:
    if profiling.py_spy() is None:
        log("py-spy is not installed: no profiles (uv pip install -p .venv py-spy)")
        return {}
    summaries: dict[str, Any] = {}
    with profiling.session(SCRATCH_DIR / "profiles") as session:
        for bench_id in ids:
            log(f"profiling {bench_id} ...")
            try:
                await BENCHMARKS[bench_id](PROFILE)
            except Exception as exc:
                log(f"profiling {bench_id} failed: {exc!r}")
                traceback.print_exc()
        for name, path in session.recordings.items():
            summaries[name] = profiling.summarize(path)
            log(f"  {name}: {path}")
    return summaries


def load(label: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{label}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def merge(previous: dict[str, Any] | None, run: dict[str, Any]) -> dict[str, Any]:
    """A partial run (--only) replaces those benchmarks in the saved results."""
    if previous is None:
        return run
    fresh = {r["id"] for r in run["results"]}
    kept = [r for r in previous["results"] if r["id"] not in fresh]
    merged = dict(run)
    merged["results"] = sorted(kept + run["results"], key=lambda r: str(r["id"]))
    merged["command"] = f"{previous['command']}, then {run['command']}"
    merged["seconds"] = float(previous.get("seconds", 0.0)) + float(run["seconds"])
    profiles = {
        k: v for k, v in (previous.get("profiles") or {}).items() if k.split("-")[0] not in fresh
    }
    merged["profiles"] = {**profiles, **(run.get("profiles") or {})}
    return merged


def without_at(argv: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--at":
            skip = True
        elif not arg.startswith("--at="):
            out.append(arg)
    return out


def run_snapshot(rev: str, argv: list[str]) -> int:
    """Export `rev` into a temporary directory, put this bench/ in it, and
    run the bench from there (services, seeding and the in-process service
    all import that code); results and BENCHMARKS.md still go here."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    src = Path(tempfile.mkdtemp(prefix="scriptbox-bench-src-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", sha], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        # The code under test is the snapshot's; the bench is this one.
        shutil.rmtree(src / "bench", ignore_errors=True)
        shutil.copytree(
            ROOT / "bench", src / "bench", ignore=shutil.ignore_patterns(".out", "results")
        )
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH")) if p)
        env["SCRIPTBOX_BENCH_OUTPUT"] = str(OUTPUT_ROOT)
        env["SCRIPTBOX_BENCH_COMMIT"] = sha[:7]
        log(f"benchmarking a snapshot of {sha[:7]} in {src}")
        # The child shares our terminal, so it gets Ctrl-C itself and cleans up.
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        child = subprocess.Popen(
            [sys.executable, "-m", "bench", *without_at(argv)],
            cwd=src,
            env=env,
            preexec_fn=cleanup.die_with_parent,
        )

        def forward(signum: int, frame: object) -> None:
            child.send_signal(signum)

        previous_term = signal.signal(signal.SIGTERM, forward)
        try:
            return child.wait()
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous_term)
    finally:
        shutil.rmtree(src, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.at:
        return run_snapshot(args.at, sys.argv[1:] if argv is None else argv)
    if args.report_only:
        report.write(REPORT, load("before"), load("after"))
        return 0
    config = QUICK if args.quick else Config()
    ids = [i.strip().upper() for i in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = [i for i in ids if i not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    if os.environ.get("SCRIPTBOX_BENCH_COMMIT"):
        command += f" (run with --at {os.environ['SCRIPTBOX_BENCH_COMMIT']})"
    with cleanup.guarded():
        reaped = cleanup.reap_stale()
        if reaped:
            log(f"removed {reaped} containers of an earlier, dead bench run")
        if not dockerrun.image_present():
            print("the sandbox image is missing: scripts/build-sandbox-image.sh", file=sys.stderr)
            return 2
        info = machine.describe()
        log(machine.one_line(info))
        started = time.monotonic()
        if args.profile_only:
            profiles = asyncio.run(profile_misses(ids))
            saved = load(args.label)
            if saved is None:
                print(f"no {args.label} results to add profiles to", file=sys.stderr)
                return 2
            saved["profiles"] = {**(saved.get("profiles") or {}), **profiles}
            (RESULTS_DIR / f"{args.label}.json").write_text(json.dumps(saved, indent=1) + "\n")
            report.write(REPORT, load("before"), load("after"))
            return 0
        try:
            results = asyncio.run(run_all(ids, config))
        except KeyboardInterrupt:
            log("interrupted: stopping what this run started")
            return 130
        missed = [r.id for r in results if r.missed]
        profiles = {}
        if missed and not args.no_profile and not args.quick:
            profiles = asyncio.run(profile_misses(missed))
        run: dict[str, Any] = {
            "machine": info,
            "command": command.strip(),
            "seconds": time.monotonic() - started,
            "results": [r.as_dict() for r in results],
            "profiles": profiles,
        }
    SCRATCH_DIR.mkdir(parents=True, exist_ok=True)
    (SCRATCH_DIR / "last.json").write_text(json.dumps(run, indent=1))
    if args.quick:
        log(f"quick run: figures in {SCRATCH_DIR / 'last.json'}, BENCHMARKS.md untouched")
        return 0
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    saved = merge(load(args.label), run) if args.only else run
    (RESULTS_DIR / f"{args.label}.json").write_text(json.dumps(saved, indent=1) + "\n")
    before = saved if args.label == "before" else load("before")
    after = saved if args.label == "after" else load("after")
    report.write(REPORT, before, after)
    log(f"wrote {REPORT} ({args.label}) in {(time.monotonic() - started) / 60:.1f} min")
    return 1 if any(r.error for r in results) else 0
