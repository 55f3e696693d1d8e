"""Everything the bench starts is registered here and stopped at the end,
also on Ctrl-C, SIGTERM or a failure: child processes (services, client
processes, profilers, `docker run`s) and containers (by label).

Children get PR_SET_PDEATHSIG, so even a SIGKILLed bench takes them down;
a service stopped with SIGTERM removes its own warm containers, and whatever
is left is removed here by label."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from types import FrameType

# Every container the bench makes carries one of these labels: `docker run`
# baselines get BENCH_LABEL=<run id>, service sandboxes have the owner label
# scriptbox.owner=<worker name>, and worker names start with WORKER_PREFIX.
BENCH_LABEL = "scriptbox.bench"
OWNER_LABEL = "scriptbox.owner"
WORKER_PREFIX = "bench-"
RUN_ID = f"{socket.gethostname()}-{os.getpid()}"
STOP_SECONDS = 40.0

_PR_SET_PDEATHSIG = 1
_processes: list[subprocess.Popen[bytes]] = []
_owners: set[str] = set()
_callbacks: list[Callable[[], None]] = []


def die_with_parent() -> None:
    """preexec_fn: SIGTERM this child when the bench process dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    """Popen from the main thread (PDEATHSIG follows the forking thread),
    in its own session so a terminal's Ctrl-C reaches only the bench, which
    then stops it in order."""
    process: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
        args, preexec_fn=die_with_parent, start_new_session=True, **kwargs
    )
    _processes.append(process)
    return process


def stop(process: subprocess.Popen[bytes], timeout: float = STOP_SECONDS) -> None:
    """SIGTERM, wait, then SIGKILL: only this process, by its pid."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()
    with contextlib.suppress(ValueError):
        _processes.remove(process)


def new_worker_name(tag: str) -> str:
    name = f"{WORKER_PREFIX}{RUN_ID}-{tag}"
    _owners.add(name)
    return name


def on_cleanup(callback: Callable[[], None]) -> None:
    _callbacks.append(callback)


def _docker(*args: str) -> str:
    if shutil.which("docker") is None:
        return ""
    try:
        done = subprocess.run(
            ["docker", *args], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout


def remove_containers(filters: list[str]) -> int:
    ids = _docker("ps", "-aq", *(f"--filter=label={f}" for f in filters)).split()
    if ids:
        _docker("rm", "-f", *ids)
    return len(ids)


def reap_stale() -> int:
    """Containers left by an earlier bench run whose process is gone (a
    SIGKILLed run on this host). Other live bench runs are left alone."""
    stale: list[str] = []
    queries = (
        (f"label={BENCH_LABEL}", '{{.ID}} {{.Label "' + BENCH_LABEL + '"}}', ""),
        ("label=scriptbox.sandbox=1", '{{.ID}} {{.Label "' + OWNER_LABEL + '"}}', WORKER_PREFIX),
    )
    for label_filter, template, prefix in queries:
        for line in _docker(
            "ps", "-a", "--filter", label_filter, "--format", template
        ).splitlines():
            container_id, _, value = line.partition(" ")
            if value.startswith(prefix) and _dead_run(value[len(prefix) :]):
                stale.append(container_id)
    if stale:
        _docker("rm", "-f", *stale)
    return len(stale)


def _dead_run(run: str) -> bool:
    """'<host>-<pid>[-tag]' of a bench process of this host that is gone."""
    host = socket.gethostname()
    if not run.startswith(host + "-"):
        return False
    pid = run[len(host) + 1 :].split("-", 1)[0]
    return pid.isdigit() and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_all() -> None:
    """Stop every child still running, then remove this run's containers."""
    for callback in reversed(_callbacks):
        with contextlib.suppress(Exception):
            callback()
    _callbacks.clear()
    for process in list(reversed(_processes)):
        stop(process)
    remove_containers([f"{BENCH_LABEL}={RUN_ID}"])
    for owner in sorted(_owners):
        remove_containers([f"{OWNER_LABEL}={owner}"])


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Run the bench; whatever happens, clean up after it."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    previous_hup = signal.signal(signal.SIGHUP, _raise_interrupt)
    try:
        yield
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            cleanup_all()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGHUP, previous_hup)
            print("bench: cleaned up", file=sys.stderr)
