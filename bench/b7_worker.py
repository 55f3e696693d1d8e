"""B7's worker process: `scriptbox worker` with a sandbox that answers at once.

    python -m bench.b7_worker      (settings from SCRIPTBOX_*, as `scriptbox worker`)

Everything but the container is the real worker: the claim loop, the run
(its script version, secrets, files, dependencies), the output, the finish
and the events, on the configured database and bus. The sandbox below
touches no engine and returns the input as the result. It lives in bench/
and is built only here: no setting of the service can select it.

Each claim statement's wall-clock time, duration (`claim_next_execution`, as
the worker's event loop sees it), whether it found a row and how long the
event loop's thread waited meanwhile for a core (runnable, not running: the
kernel's schedstat) are written to the JSON file named by B7_CLAIM_LOG when
the process stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from core.settings import Settings
from models import db
from roles.parts import build_bus, build_secrets, build_store, worker_name
from sandbox import DockerSandbox, SandboxConfig, SandboxJob, SandboxOutcome
from sandbox.conversation import OnOutput
from services.executions import lifecycle
from services.files import FileStore
from worker.loop import Worker

if TYPE_CHECKING:
    # An annotation only: the bench also drives commits from before it existed (--at).
    from sandbox.docker_backend import OnStarted

log = logging.getLogger("bench.b7_worker")
T = TypeVar("T")


class InstantSandbox(DockerSandbox):
    """Runs nothing: every job succeeds at once with its input as the result."""

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def reap(self, owner: str | None = None) -> int:
        return 0

    async def settle(self) -> None:
        return None

    # Dependency environments: none exist here (B7's script declares none),
    # and the janitor's sweep must not reach for an engine.
    async def environment_volumes(self, namespace: str) -> list[tuple[str, str]]:
        return []

    async def remove_environment_volume(self, name: str) -> bool:
        return False

    async def run(
        self,
        job: SandboxJob,
        on_output: OnOutput,
        cancel: asyncio.Event | None = None,
        *,
        stop_grace_seconds: float = 0.0,
        on_started: OnStarted | None = None,
    ) -> SandboxOutcome:
        from core.statuses import ExecutionStatus

        return SandboxOutcome(
            status=ExecutionStatus.SUCCEEDED,
            exit_code=0,
            result_json=job.input_json.decode(),
            error_code=None,
            error_message=None,
            stdout_truncated=False,
            stderr_truncated=False,
            artifacts=[],
            rejected_artifacts=[],
            duration_ms=0,
        )


Sample = tuple[float, float, bool, float]  # at, ms, found a row, ms waiting for a core


def _waited_for_a_core_ns() -> int:
    """How long this thread has been runnable but not running, in all."""
    with open("/proc/thread-self/schedstat") as f:
        return int(f.read().split()[1])


def _timed_claims(samples: list[Sample]) -> None:
    """Record the time, duration, success and core wait of every claim statement."""
    claim: Callable[..., Awaitable[Any]] = getattr(lifecycle, "claim_next_execution")  # noqa: B009

    async def timed(*args: Any) -> Any:
        started, waited = time.perf_counter(), _waited_for_a_core_ns()
        row = await claim(*args)
        took = (time.perf_counter() - started) * 1000
        waited_ms = (_waited_for_a_core_ns() - waited) / 1e6
        samples.append((time.time(), took, row is not None, waited_ms))
        return row

    setattr(lifecycle, "claim_next_execution", timed)  # noqa: B010


async def run_until_stopped(settings: Settings) -> list[Sample]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    samples: list[Sample] = []
    _timed_claims(samples)
    store = build_store(settings)
    bus = build_bus(settings)
    files = FileStore(store, settings.max_file_bytes)
    name = worker_name(settings)
    sandbox = InstantSandbox(SandboxConfig(owner=name))
    worker = Worker(name, settings, sandbox, store, bus, build_secrets(settings), files)
    async with db.opened(settings.database_url, migrate_first=False):
        await store.ensure_ready()
        await worker.start()
        log.info("b7 worker %s running (concurrency %d)", name, settings.worker_concurrency)
        try:
            await stop.wait()
        finally:
            await worker.stop()
            await bus.close()
            await store.close()
    return samples


def _run(main: Coroutine[Any, Any, T]) -> T:
    """On the event loop `scriptbox worker` of the commit under test runs."""
    try:
        from roles.worker import run_on_event_loop
    except ImportError:  # a commit from before the worker ran on uvloop (--at)
        return asyncio.run(main)
    return run_on_event_loop(main)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    samples = _run(run_until_stopped(Settings.from_env()))
    path = os.environ.get("B7_CLAIM_LOG")
    if path:
        Path(path).write_text(json.dumps(samples))


if __name__ == "__main__":
    main()
