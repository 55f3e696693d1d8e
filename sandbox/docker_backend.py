"""DockerSandbox: runs one job in one fresh, hardened container, and offers
the few engine operations Python dependency environments need.

All Docker SDK calls run in a private thread pool (the SDK blocks); the
container's attached stdio is a plain socket driven by the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import docker

from core.codes import ExecutionErrorCode
from core.limits import SandboxLimits
from core.statuses import ExecutionStatus
from core.usage import ResourceUsage
from sandbox import containers, env_volumes, http_sockets
from sandbox.config import SandboxConfig, SandboxUnavailable
from sandbox.containers import LiveContainer
from sandbox.conversation import (
    Conversation,
    OnOutput,
    RunnerMisbehaved,
    RunnerReport,
    RunnerVanished,
    bundle_frames,
)
from sandbox.env_pools import EnvPools
from sandbox.environments import (
    EngineIdentity,
    Installed,
    Wheel,
    install_job,
    installed,
    runtime_for,
)
from sandbox.job import (
    OutputChunk,
    SandboxImage,
    SandboxJob,
    SandboxOutcome,
    Status,
    VolumeMount,
)
from sandbox.job_checks import job_problem
from sandbox.pool import WarmPool

log = logging.getLogger(__name__)

T = TypeVar("T")

# The runner enforces the timeout itself and reports; the host kills the
# container this much later if the runner has not (stuck, starved, replaced).
HOST_GRACE_SECONDS = 1.0
KILL_WAIT_SECONDS = 10.0
DOCKER_THREADS = 8
# A container that served a job is removed this long after its report: its
# teardown (the engine's and the kernel's work, on the same cores) would
# otherwise compete with recording the run and telling its followers. The
# runner waits meanwhile, doing nothing, until the host hangs up.
RETIRE_DELAY_SECONDS = 0.1


class DockerSandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._executor: ThreadPoolExecutor | None = None
        self._api: docker.APIClient | None = None
        self._pool = WarmPool(
            self._create_warm,
            self._dispose,
            config.warm_pool_size,
            config.default_limits.container_profile(),
        )
        self._disposals: set[asyncio.Task[None]] = set()
        # Set while someone waits for the removals (settle, close): no delay.
        self._hurry = asyncio.Event()
        self._settling = 0
        # Containers being created in a thread right now (see _start_container).
        self._creating: set[asyncio.Future[LiveContainer]] = set()
        self._closed = False
        self._leased: set[str] = set()  # containers serving a job right now
        # Jobs that mount volumes (dependency environments): pools per volume set.
        self._env_pools = EnvPools(
            self._create_with_volumes,
            self._dispose,
            config.default_limits,
            size=config.env_pool_size,
            max_pools=config.env_pool_count,
        )

    # --- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Check the engine and image, reap this owner's leftovers, warm the pool."""
        api = await self._get_api()
        await self._call(containers.ping, api)
        await self._call(containers.check_image, api, self.config.image)
        reaped = await self.reap()
        if reaped:
            log.info("reaped %d leftover sandbox containers of owner %r", reaped, self.config.owner)
        self._pool.start()

    async def close(self) -> None:
        """Stop refilling, remove the pool's containers and wait for removals.

        Also waits for containers still being created, even by callers that
        were cancelled meanwhile: each is removed as soon as it exists.
        """
        self._closed = True  # no new container from here on
        await self._env_pools.close()
        await self._pool.close()
        while self._creating:
            await asyncio.gather(*self._creating, return_exceptions=True)
        await self.settle()
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def ping(self) -> None:
        api = await self._get_api()
        await self._call(containers.ping, api)

    async def reap(self, owner: str | None = None) -> int:
        """Remove every container labelled with this owner (default: ours).

        For our own owner, the warm pool's and running jobs' containers are
        spared: reaping is for leftovers of a previous process.
        """
        api = await self._get_api()
        owner = self.config.owner if owner is None else owner
        ids = await self._call(containers.list_owned, api, owner)
        keep = set()
        if owner == self.config.owner:
            keep = set(self._pool.container_ids) | self._leased
            keep |= set(self._env_pools.container_ids)
        removed = await asyncio.gather(
            *(self._call(containers.remove, api, cid) for cid in ids if cid not in keep)
        )
        return sum(removed)

    # --- diagnostics (tests, operations) ------------------------------------------

    @property
    def warm_container_ids(self) -> list[str]:
        """Containers idling in the pool right now."""
        return self._pool.container_ids

    async def settle(self) -> None:
        """Wait until containers of finished runs have been removed."""
        # Retirements skip their delay while anyone is settling; a count, as
        # the first caller to finish must not slow down the others still waiting.
        self._settling += 1
        self._hurry.set()
        try:
            while self._disposals:
                await asyncio.gather(*self._disposals, return_exceptions=True)
        finally:
            self._settling -= 1
            if not self._settling:
                self._hurry.clear()

    async def usage_now(self, container_id: str) -> tuple[int, float, float] | None:
        """(memory bytes, user and system CPU seconds) of a running job's
        container, as the engine counts them now; None when it cannot tell."""
        api = await self._get_api()
        return await self._call(containers.usage_now, api, container_id)

    # --- running ------------------------------------------------------------------

    async def run(
        self,
        job: SandboxJob,
        on_output: OnOutput,
        cancel: asyncio.Event | None = None,
        *,
        stop_grace_seconds: float = 0.0,
        on_started: OnStarted | None = None,
    ) -> SandboxOutcome:
        """Run one job in a container of its own; every script fault is an outcome.

        A cancel kills the container at once, unless `stop_grace_seconds`
        is given (a service's stop): then the script's processes get SIGTERM
        and that long to end by themselves, and the outcome is theirs.
        `on_started` hears the container's id once the job is in it.

        Raises SandboxUnavailable only when the engine itself fails.
        """
        started = time.monotonic()
        if job.http_socket_dir is not None:
            with contextlib.suppress(OSError):  # what is still wrong, job_problem says
                http_sockets.prepare(job.http_socket_dir)
        problem = job_problem(job)
        if problem is not None:
            return _outcome(started, "failed", "INVALID_JOB", problem)
        if cancel is not None and cancel.is_set():
            return _outcome(started, "cancelled", "CANCELLED", "cancelled before start")
        stopping = _Stopping(cancel, stop_grace_seconds, on_started)
        container = await self._lease(job)
        self._leased.add(container.id)
        try:
            return await self._drive(container, job, on_output, stopping, started)
        except _JobNotDelivered as exc:
            # A warm container that died after its health check fails the
            # send, before the job reached anyone: safe to try once more.
            log.warning("sandbox container %s refused the job: %s", container.id[:12], exc)
        finally:
            self._leased.discard(container.id)
            self._retire(container)
        return await self._drive_fresh(job, on_output, stopping, started)

    async def _drive_fresh(
        self,
        job: SandboxJob,
        on_output: OnOutput,
        stopping: _Stopping,
        started: float,
    ) -> SandboxOutcome:
        """Last try: a container made for this job; a second refusal is an outcome."""
        container = await self._lease(job, warm_ok=False)
        self._leased.add(container.id)
        try:
            return await self._drive(container, job, on_output, stopping, started)
        except _JobNotDelivered as exc:
            return _outcome(started, "failed", "SANDBOX_ERROR", f"cannot deliver the job: {exc}")
        finally:
            self._leased.discard(container.id)
            self._retire(container)

    async def _lease(self, job: SandboxJob, warm_ok: bool = True) -> LiveContainer:
        profile = job.limits.container_profile()
        if job.http_socket_dir is not None:
            # Its socket directory is mounted at creation: never a warm one.
            warm_ok = False
        if job.volumes:  # mounted at creation: only a pool for these volumes fits
            warm = self._env_pools.take(job.volumes, profile) if warm_ok else None
        else:
            warm = self._pool.take(profile) if warm_ok else None
        if warm is not None:
            return warm
        # No warm container fits: make one now. It can carry the execution
        # label, unlike warm ones.
        return await self._start_container(
            job.limits, job.execution_id, job.volumes, job.http_socket_dir
        )

    async def _drive(
        self,
        container: LiveContainer,
        job: SandboxJob,
        on_output: OnOutput,
        stopping: _Stopping,
        started: float,
    ) -> SandboxOutcome:
        limits = job.limits
        key = secrets.token_bytes(32)
        talk = Conversation(container.sock, limits, on_output, key)
        try:
            await talk.send(bundle_frames(job, key))
        except OSError as exc:
            raise _JobNotDelivered(str(exc)) from exc
        ran = _HostClock(container.image)

        reading = asyncio.create_task(talk.run())
        try:
            if stopping.on_started is not None:
                await stopping.on_started(container.id)
            return await self._await_report(
                container, talk, reading, limits, stopping, started, ran
            )
        finally:
            # Also when run() itself is cancelled: never leave a reader behind.
            if not reading.done():
                reading.cancel()

    async def _await_report(
        self,
        container: LiveContainer,
        talk: Conversation,
        reading: asyncio.Task[RunnerReport],
        limits: SandboxLimits,
        stopping: _Stopping,
        started: float,
        ran: _HostClock,
    ) -> SandboxOutcome:
        cancel = stopping.cancel
        waiting: set[asyncio.Future[Any]] = {reading}
        cancelled = asyncio.create_task(cancel.wait()) if cancel is not None else None
        if cancelled is not None:
            waiting.add(cancelled)
        try:
            await asyncio.wait(
                waiting,
                timeout=limits.timeout_seconds + HOST_GRACE_SECONDS,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if cancelled is not None:
                cancelled.cancel()

        if not reading.done() and cancel is not None and cancel.is_set():
            await self._ask_to_end(container, reading, stopping.grace_seconds)
        if not reading.done():
            # Timed out or cancelled on the host: kill first, so the script
            # stops now, then stop reading.
            await self._kill(container)
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, RunnerVanished, RunnerMisbehaved):
                await reading
            await talk.finish_output()
            if cancel is not None and cancel.is_set():
                return _outcome(started, "cancelled", "CANCELLED", "cancelled", talk, ran)
            return _outcome(
                started,
                "timed_out",
                "TIMEOUT",
                f"timed out after {limits.timeout_seconds:g} s",
                talk,
                ran,
            )

        try:
            report = reading.result()
        except RunnerVanished as exc:
            await talk.finish_output()
            return await self._vanished(container, talk, started, str(exc), ran)
        except RunnerMisbehaved as exc:
            await self._kill(container)
            await talk.finish_output()
            return _outcome(
                started, "failed", "SANDBOX_ERROR", f"runner misbehaved: {exc}", talk, ran
            )
        await talk.finish_output()

        outcome = SandboxOutcome(
            status=ExecutionStatus(report.status),
            exit_code=report.exit_code,
            result_json=report.result_json,
            error_code=_reported_code(report.error_code),
            error_message=report.error_message,
            stdout_truncated=report.stdout_truncated,
            stderr_truncated=report.stderr_truncated,
            artifacts=report.artifacts,
            rejected_artifacts=report.rejected_artifacts,
            duration_ms=_elapsed_ms(started),
            usage=report.usage,
            image=container.image,
        )
        if report.result_too_large and outcome.status is ExecutionStatus.SUCCEEDED:
            outcome.status = ExecutionStatus.FAILED
            outcome.error_code = ExecutionErrorCode.RESULT_TOO_LARGE
            outcome.error_message = f"result is over {limits.result_bytes} bytes"
            outcome.result_json = None
        if outcome.status is ExecutionStatus.SUCCEEDED:
            outcome.error_code = outcome.error_message = None
        elif outcome.error_code is None:
            outcome.error_code = ExecutionErrorCode.SANDBOX_ERROR
        return outcome

    async def _vanished(
        self,
        container: LiveContainer,
        talk: Conversation,
        started: float,
        why: str,
        ran: _HostClock,
    ) -> SandboxOutcome:
        """The runner's stream ended early: the OOM killer, or the engine is gone."""
        api = await self._get_api()
        state = await self._call(containers.inspect_state, api, container.id)
        if state.get("OOMKilled"):
            return _outcome(
                started,
                "failed",
                "OUT_OF_MEMORY",
                "the sandbox exceeded its memory limit and was killed",
                talk,
                ran,
            )
        detail = talk.diagnostics
        message = f"the runner stopped unexpectedly ({why}; exit code {state.get('ExitCode')})"
        if detail:
            message += f": {detail[-1000:]}"
        return _outcome(started, "failed", "SANDBOX_ERROR", message, talk, ran)

    async def _ask_to_end(
        self, container: LiveContainer, reading: asyncio.Task[RunnerReport], grace: float
    ) -> None:
        """SIGTERM to the script's processes, then up to `grace` seconds for
        the runner's report (the script ended by itself) before the kill."""
        if grace <= 0:
            return
        api = await self._get_api()
        await self._call(containers.terminate_script, api, container.id)
        await asyncio.wait({reading}, timeout=grace)

    async def _kill(self, container: LiveContainer) -> None:
        api = await self._get_api()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self._call(containers.kill, api, container.id), KILL_WAIT_SECONDS
            )

    # --- containers ---------------------------------------------------------------

    async def _create_warm(self) -> LiveContainer:
        return await self._start_container(self.config.default_limits, None)

    async def _create_with_volumes(self, volumes: Sequence[VolumeMount]) -> LiveContainer:
        return await self._start_container(self.config.default_limits, None, volumes)

    async def _start_container(
        self,
        limits: SandboxLimits,
        execution_id: str | None,
        volumes: Sequence[VolumeMount] = (),
        http_socket_dir: str | None = None,
    ) -> LiveContainer:
        """Create and start a container in a thread, never leaving it orphaned.

        The thread cannot be stopped once it runs: a caller cancelled while it
        waits (a run cancelled, the warm pool's task cancelled at shutdown)
        would drop a started container nobody removes; its runner exits on
        stdin EOF when this process ends and the container stays, exited.
        So the creation is shielded and, for a cancelled caller, its
        container disposed of when it arrives; close() waits for all of them.
        """
        if self._closed:
            raise SandboxUnavailable("the sandbox is shutting down")
        api = await self._get_api()
        creating = asyncio.ensure_future(
            self._call(
                containers.start_container,
                api,
                self.config.image,
                limits,
                self.config.owner,
                execution_id,
                volumes,
                http_socket_dir,
            )
        )
        self._creating.add(creating)
        creating.add_done_callback(self._creating.discard)
        try:
            container = await asyncio.shield(creating)
        except asyncio.CancelledError:
            creating.add_done_callback(self._dispose_created)
            raise
        if self._closed:  # closed while it was being made: nobody will use it
            self._dispose(container)
            raise SandboxUnavailable("the sandbox is shutting down")
        return container

    def _dispose_created(self, creating: asyncio.Future[LiveContainer]) -> None:
        if not creating.cancelled() and creating.exception() is None:
            self._dispose(creating.result())

    # --- dependency environments (sandbox/environments.py) -----------------------

    async def engine_identity(self) -> EngineIdentity:
        """The engine environments are kept on, and the runtime wheels must fit."""
        engine_id, arch = await self._on_engine(
            "cannot ask the engine who it is: ", env_volumes.engine_identity
        )
        return EngineIdentity(engine_id, runtime_for(arch))

    async def create_environment_volume(self, name: str, env_hash: str, namespace: str) -> None:
        """A fresh, empty volume for one environment, labelled with its namespace."""
        await self._on_engine(
            "cannot create a volume: ", env_volumes.create_volume, name, env_hash, namespace
        )

    async def environment_volume_ready(self, name: str, env_hash: str) -> bool:
        """The volume exists and was made for this environment (never mount
        one that is not there: Docker would create it, empty)."""
        return await self._on_engine(
            "cannot inspect a volume: ", env_volumes.volume_ready, name, env_hash
        )

    async def environment_volumes(self, namespace: str) -> list[tuple[str, str]]:
        """(name, environment hash) of every environment volume of a namespace."""
        return await self._on_engine("cannot list volumes: ", env_volumes.list_volumes, namespace)

    async def remove_environment_volume(self, name: str) -> bool:
        """Close the warm containers that mount it, then remove it; False
        when it is still in use (a run has it) or the engine balks."""
        await self._env_pools.release(name)
        await self.settle()
        api = await self._get_api()
        return await self._call(env_volumes.remove_volume, api, name)

    async def install_environment(
        self,
        env_hash: str,
        volume: str,
        wheels: list[Wheel],
        max_bytes: int,
        max_files: int,
        timeout_seconds: float,
    ) -> Installed:
        """Fill a fresh volume with these wheels, in one sandbox job.

        Raises InstallFailed (the installer refused or broke) or
        SandboxUnavailable."""
        job = install_job(env_hash, volume, wheels, max_bytes, max_files, timeout_seconds)
        stderr: list[str] = []

        async def on_output(chunk: OutputChunk) -> None:
            if chunk.stream == "stderr":
                stderr.append(chunk.data)

        outcome = await self.run(job, on_output)
        return installed(outcome, env_hash, "".join(stderr))

    async def _on_engine(self, failure: str, fn: Callable[..., T], *args: object) -> T:
        """A blocking ``fn(api, *args)``; an engine error is SandboxUnavailable."""
        api = await self._get_api()
        try:
            return await self._call(fn, api, *args)
        except containers.ENGINE_ERRORS as exc:
            raise SandboxUnavailable(f"{failure}{exc}") from exc

    def _dispose(self, container: LiveContainer) -> None:
        """Remove an unwanted container in the background, now."""
        self._remove_in_background(container, delay=0.0)

    def _retire(self, container: LiveContainer) -> None:
        """Remove a container that served a job, once its run is recorded."""
        self._remove_in_background(container, delay=RETIRE_DELAY_SECONDS)

    def _remove_in_background(self, container: LiveContainer, delay: float) -> None:
        task = asyncio.get_running_loop().create_task(
            self._remove(container, delay), name="sandbox-remove"
        )
        self._disposals.add(task)
        task.add_done_callback(self._disposals.discard)

    async def _remove(self, container: LiveContainer, delay: float) -> None:
        if delay > 0 and not self._hurry.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), delay)
        container.close_socket()  # the runner's cue to exit
        api = self._api
        if api is not None:
            await self._call(containers.remove, api, container.id)

    async def _get_api(self) -> docker.APIClient:
        if self._api is None:
            self._api = await self._call(containers.connect, self.config.docker_host)
        return self._api

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        # A private pool: slow engine calls (a removal can take a second)
        # must not starve the default executor the rest of the service uses.
        if self._executor is None:
            self._executor = ThreadPoolExecutor(DOCKER_THREADS, thread_name_prefix="sandbox-docker")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))


# Told the container's id once the job is in it (a service's supervisor
# samples the container's memory and CPU by it).
OnStarted = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class _Stopping:
    """How a job is stopped, and who hears that it started."""

    cancel: asyncio.Event | None
    grace_seconds: float = 0.0
    on_started: OnStarted | None = None


class _HostClock:
    """When the job reached its container, and which image that was: what
    the host can still say of a run whose runner never reported its own
    measurement (killed at the timeout or on cancel, or gone)."""

    def __init__(self, image: SandboxImage) -> None:
        self.image = image
        self._since = time.monotonic()

    def usage(self) -> ResourceUsage:
        # Wall time only: the CPU and memory of a container killed before
        # its runner reported are not known here, and are not guessed.
        return ResourceUsage(wall_seconds=round(time.monotonic() - self._since, 6))


class _JobNotDelivered(Exception):
    """The container's stdin broke before the whole job was written."""


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# The codes the runner may report; any other word from it (the runner is not
# trusted) is the host's SANDBOX_ERROR.
RUNNER_CODES = frozenset(
    {
        ExecutionErrorCode.SCRIPT_ERROR,
        ExecutionErrorCode.NON_ZERO_EXIT,
        ExecutionErrorCode.OUT_OF_MEMORY,
        ExecutionErrorCode.INVALID_RESULT,
        ExecutionErrorCode.RESULT_TOO_LARGE,
        ExecutionErrorCode.TIMEOUT,
    }
)


def _reported_code(code: str | None) -> ExecutionErrorCode | None:
    """The runner's error code in the service's vocabulary."""
    if code is None:
        return None
    return ExecutionErrorCode(code) if code in RUNNER_CODES else ExecutionErrorCode.SANDBOX_ERROR


def _outcome(
    started: float,
    status: Status,
    error_code: str,
    message: str,
    talk: Conversation | None = None,
    ran: _HostClock | None = None,
) -> SandboxOutcome:
    """An outcome the host decided, its status and code mapped here into the
    service's vocabulary (core/statuses.py, core/codes.py); `ran` when the
    job reached a container."""
    report = talk.report if talk is not None else None
    return SandboxOutcome(
        status=ExecutionStatus(status),
        exit_code=None,
        result_json=None,
        error_code=ExecutionErrorCode(error_code),
        error_message=message,
        stdout_truncated=report.stdout_truncated if report else False,
        stderr_truncated=report.stderr_truncated if report else False,
        artifacts=[],
        rejected_artifacts=[],
        duration_ms=_elapsed_ms(started),
        usage=ran.usage() if ran is not None else ResourceUsage(),
        image=ran.image if ran is not None else None,
    )
