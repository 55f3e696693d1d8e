"""B1: one `runScript` of a trivial `main`, from sending the mutation to the
terminal event on a `executionUpdates` subscription, one run at a time.
Baseline: the same script in `docker run --rm --network none`.

B1I: the same, for a `main` that imports one neighbouring script (the run
finds, pins and ships it); measured the same way, to set beside B1."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bench import dockerrun, profiling
from bench.config import Config
from bench.gql import TERMINAL, Api, GraphQLFailed, socket
from bench.results import BenchResult, Row
from bench.service import scriptbox_serve
from bench.stats import Summary, num, ratio

SCRIPT = "def main(data):\n    return {'n': data['n'] + 1}\n"


@dataclass(frozen=True)
class Variant:
    id: str
    title: str
    main: str  # the script run
    neighbours: tuple[tuple[str, str], ...] = ()  # (name, content) beside it


PLAIN = Variant("B1", "runScript → terminal event, one at a time", SCRIPT)
IMPORTING = Variant(
    "B1I",
    "runScript → terminal event, a script that imports one neighbour",
    "import step\n\ndef main(data):\n    return {'n': step.next(data['n'])}\n",
    (("step.py", "def next(n):\n    return n + 1\n"),),
)
UPDATES = """subscription($id: ID!) { executionUpdates(executionId: $id) {
  seq status execution { status result queuedAt startedAt finishedAt durationMs } } }"""


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


async def run(config: Config) -> BenchResult:
    return await run_variant(config, PLAIN)


async def run_importing(config: Config) -> BenchResult:
    return await run_variant(config, IMPORTING)


async def run_variant(config: Config, variant: Variant) -> BenchResult:
    result = BenchResult(variant.id, variant.title)
    totals: list[float] = []
    posts: list[float] = []
    # The phases one after another, by the one clock the bench and the
    # service share (same machine): sent → queued (the server's queuedAt),
    # queued → claimed, claimed → finished, finished → terminal event here.
    to_queued: list[float] = []
    queued_to_started: list[float] = []
    in_sandbox: list[float] = []
    to_received: list[float] = []
    baseline: list[float] = []
    input_json = json.dumps({"n": 1})

    with scriptbox_serve("b1") as service:
        api = await Api(service.url).register("b1")
        try:
            for name, content in variant.neighbours:
                await api.create_script(name, content)
            script_id = await api.create_script("trivial.py", variant.main)
            assert api.token is not None
            async with socket(service.url, api.token) as ws:

                async def one(n: int) -> None:
                    sent_at = datetime.now(UTC)
                    started = time.perf_counter()
                    execution_id = await api.run_script(script_id, {"n": n})
                    posted = time.perf_counter()
                    op = await ws.subscribe(UPDATES, {"id": execution_id})
                    terminal_at = None
                    received_at = sent_at
                    execution = None
                    async for data in ws.events(op, timeout=60):
                        event = data["executionUpdates"]
                        if event["status"] in TERMINAL and terminal_at is None:
                            terminal_at = time.perf_counter()
                            received_at = datetime.now(UTC)
                            execution = event["execution"]
                    if terminal_at is None or execution is None:
                        raise GraphQLFailed("no terminal event")
                    if execution["status"] != "SUCCEEDED" or execution["result"] != {"n": n + 1}:
                        raise GraphQLFailed(f"unexpected outcome {execution}")
                    totals.append(terminal_at - started)
                    posts.append(posted - started)
                    queued_to_started.append(
                        _seconds_between(execution["queuedAt"], execution["startedAt"])
                    )
                    in_sandbox.append(
                        _seconds_between(execution["startedAt"], execution["finishedAt"])
                    )
                    to_queued.append(_seconds_between(sent_at.isoformat(), execution["queuedAt"]))
                    to_received.append(
                        _seconds_between(execution["finishedAt"], received_at.isoformat())
                    )

                for n in range(config.b1_warmup):
                    await one(n)
                    await asyncio.sleep(config.b1_pause_seconds)
                if not config.profile:
                    await dockerrun.run_once(SCRIPT, input_json)  # warm the docker CLI path
                for kept in (totals, posts, to_queued, queued_to_started, in_sandbox, to_received):
                    kept.clear()
                # Interleaved, so both see the same machine noise.
                every = max(1, config.b1_runs // max(1, config.b1_baseline_runs))
                with profiling.phase(f"{variant.id}-service", service.pid):
                    for n in range(config.b1_runs):
                        await one(n)
                        await asyncio.sleep(config.b1_pause_seconds)
                        if config.profile:
                            continue
                        if n % every == 0 and len(baseline) < config.b1_baseline_runs:
                            await asyncio.sleep(config.b1_baseline_pause_seconds)
                            baseline.append(await dockerrun.run_once(SCRIPT, input_json))
                            await asyncio.sleep(config.b1_pause_seconds)
        finally:
            await api.aclose()

    if config.profile:
        return result
    ms = [t * 1000 for t in totals]
    base_ms = [t * 1000 for t in baseline]
    s = Summary.of(ms)
    b = Summary.of(base_ms)
    speedup = b.median / s.median
    result.rows = [
        Row(
            variant.id,
            f"{variant.title}, p50 ({s.n} runs)",
            f"{num(s.median, 1)} ms",
            s.iqr(" ms", 1),
            f"docker run p50 {num(b.median)} ms ({b.iqr(' ms')}, {b.n} runs)",
            f"{ratio(speedup, 1)} faster",
            "p50 ≤ 25 ms and ≥ 10x faster",
            s.median <= 25 and speedup >= 10,
        ),
        Row(
            variant.id,
            f"{variant.title}, p95",
            f"{num(s.p95, 1)} ms",
            s.range(" ms", 1) + " (min-max)",
            f"docker run p95 {num(b.p95)} ms",
            f"{ratio(b.p95 / s.p95, 1)} faster",
            "-",
            None,
        ),
    ]
    post = Summary.of([t * 1000 for t in posts])
    queued = Summary.of([t * 1000 for t in to_queued])
    wait = Summary.of([t * 1000 for t in queued_to_started])
    sandbox = Summary.of([t * 1000 for t in in_sandbox])
    received = Summary.of([t * 1000 for t in to_received])
    result.notes = [
        f"Where a run's time goes (medians of each phase, one after another, on the clock the "
        f"bench and the service share): sent → queued (the request's parsing, session and "
        f"checks) {num(queued.median, 1)} ms; queued → claimed by the worker (the insert, "
        f"the wake-up, the claim) {num(wait.median, 1)} ms; claimed → finished (the job "
        f"read and bundled, the warm container's runner, the child Python, the report) "
        f"{num(sandbox.median, 1)} ms; "
        f"finished → the terminal event received here (the row written, the event) "
        f"{num(received.median, 1)} ms. The `runScript` answer itself came after "
        f"{num(post.median, 1)} ms: the worker claims while the request is still answering "
        f"(the audit entry, the response), and the bench subscribes only then.",
        f"Runs are sequential with a {config.b1_pause_seconds:g} s pause between them (an "
        "interactive pace: the warm pool, which refills one container at a time, is full "
        "again before the next run); each run checks `status` SUCCEEDED and the result.",
        "Baseline: `docker run --rm --network none scriptbox-sandbox:latest python3 -c "
        "'<script>; print(json.dumps(main(<input>)))'`, timed around the `docker` "
        "command, interleaved with the service's runs, each after a further "
        f"{config.b1_baseline_pause_seconds:g} s, once the service's work after a run "
        "(removing the used container, refilling the warm pool) is over.",
    ]
    result.raw = {
        "service_ms": ms,
        "baseline_ms": base_ms,
        "post_ms": [t * 1000 for t in posts],
        "sent_to_queued_ms": [t * 1000 for t in to_queued],
        "finished_to_received_ms": [t * 1000 for t in to_received],
        "queued_to_started_ms": [t * 1000 for t in queued_to_started],
        "started_to_finished_ms": [t * 1000 for t in in_sandbox],
        "summary": s.as_dict(),
        "baseline_summary": b.as_dict(),
    }
    return result
