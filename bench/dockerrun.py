"""The seeds' way of running a script, the baseline of B1 and B2:
`docker run --rm --network none <sandbox image> python3 -c <script + call>`,
timed from the `docker` command's start to its exit."""

from __future__ import annotations

import asyncio
import subprocess
import time

from bench import cleanup

IMAGE = "scriptbox-sandbox:latest"


def command(script: str, input_json: str) -> list[str]:
    # The same script, plus what the service's runner adds: call main with
    # the input and print the JSON result.
    program = f"{script}\nimport json\nprint(json.dumps(main(json.loads({input_json!r}))))\n"
    return [
        "docker", "run", "--rm", "--network", "none",
        "--label", f"{cleanup.BENCH_LABEL}={cleanup.RUN_ID}",
        IMAGE, "python3", "-c", program,
    ]  # fmt: skip


async def run_once(script: str, input_json: str, timeout: float = 60) -> float:
    """Seconds for one `docker run`; raises if it fails."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command(script, input_json),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"docker run failed ({process.returncode}): {err.decode()[-500:]}")
    del out
    return elapsed


async def run_parallel(script: str, input_json: str, total: int, parallel: int) -> list[float]:
    """`total` runs, `parallel` in flight at any time; returns each run's
    completion time (seconds since the first start)."""
    started = time.perf_counter()
    finished: list[float] = []
    queue = iter(range(total))

    async def lane() -> None:
        for _ in queue:
            await run_once(script, input_json)
            finished.append(time.perf_counter() - started)

    await asyncio.gather(*(lane() for _ in range(parallel)))
    return sorted(finished)


def image_present() -> bool:
    done = subprocess.run(
        ["docker", "image", "inspect", IMAGE], capture_output=True, check=False, timeout=60
    )
    return done.returncode == 0
