"""In-container: run the user's code as a child process and pump its output.

Part of the runner (stdlib only). The child's stdout and stderr are pipes that
only the runner reads and re-frames, so user code cannot forge frames. When
the main child exits (or times out), every other process in the container is
killed, so nothing it started can outlive it or hold the pipes open.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import resource
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import IO

from sandbox.runner import protocol as p
from sandbox.runner.http_bridge import SERVICE_PORT
from sandbox.runner.identity import SANDBOX_UID
from sandbox.runner.job import (
    IN_DIR,
    INPUT_PATH,
    LIB_DIR,
    OUT_DIR,
    RESULT_PATH,
    WORK_DIR,
    Job,
    diag,
)
from sandbox.runner.usage import CpuTimes, RunUsage, cpu_so_far, run_usage

CALL_MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "call_main.py")
CALL_MAIN_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "call_main.mjs")
FLUSH_DELAY = 0.005  # coalesce bursts for at most 5 ms before sending a chunk
CHUNK_BYTES = 16 * 1024  # ...or until this much is pending
READ_BYTES = 64 * 1024
DRAIN_SECONDS = 2.0  # reading what is left in the pipes once every writer is dead


@dataclass
class ScriptShape:
    function_mode: bool
    syntax_error: str | None = None


def inspect_python(path: str) -> ScriptShape:
    """Function mode when the module defines ``main`` at top level."""
    with open(path, "rb") as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename="script.py")
    except (SyntaxError, ValueError) as exc:
        # Run it anyway in program mode: Python prints its usual report on
        # stderr; the runner names the error.
        return ScriptShape(function_mode=False, syntax_error=f"{type(exc).__name__}: {exc}")
    has_main = any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "main"
        for node in tree.body
    )
    return ScriptShape(function_mode=has_main)


def child_argv(job: Job, shape: ScriptShape, report_fd: int) -> list[str]:
    if job.language == "shell":
        return ["bash", job.script_path]
    if job.language == "javascript":
        return ["node", CALL_MAIN_JS, job.script_path, str(report_fd)]
    if shape.function_mode:
        return ["python3", "-u", CALL_MAIN, job.script_path, str(report_fd)]
    if job.import_path:
        # -P: the script's imports come from its folder in $SCRIPTBOX_LIB
        # (PYTHONPATH), never from /job, where a folder named like one of
        # the tree's (`lib`, `work`) would shadow it.
        return ["python3", "-u", "-P", job.script_path]
    return ["python3", "-u", job.script_path]


def child_env(job: Job | None) -> dict[str, str]:
    """The script's environment; `None`: before any job (the standby's)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": WORK_DIR,
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        # Unbuffered, so a printed line reaches the host at once, not at exit.
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if job is not None:
        env.update(job.env)
        if job.http:
            env["PORT"] = str(SERVICE_PORT)
        if job.import_path:
            # Before a dependency environment's site directory, as a
            # script's own folder comes before site-packages.
            search = [*job.import_path, *filter(None, [env.get("PYTHONPATH")])]
            env["PYTHONPATH"] = os.pathsep.join(search)
    env.update(
        {
            "SCRIPTBOX_INPUT": INPUT_PATH,
            "SCRIPTBOX_RESULT": RESULT_PATH,
            "SCRIPTBOX_INPUT_DIR": IN_DIR,
            "SCRIPTBOX_OUTPUT_DIR": OUT_DIR,
            "SCRIPTBOX_LIB": LIB_DIR,
        }
    )
    env.pop("SCRIPTBOX_IN_SANDBOX", None)
    return env


PR_SET_DUMPABLE = 4


def set_dumpable(flag: bool) -> None:
    """prctl(PR_SET_DUMPABLE): a non-dumpable process cannot be ptraced or
    have its /proc entries opened by processes without CAP_SYS_PTRACE."""
    import ctypes  # only here: costs start-up time, paid while the runner idles

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, int(flag), 0, 0, 0) != 0:
        diag(f"prctl(PR_SET_DUMPABLE) failed: errno {ctypes.get_errno()}")


def _prepare_child() -> None:
    # Runs in the child between fork and exec, after the uid change. That
    # change (and the runner's flag) left the child non-dumpable, which
    # makes /proc/self root-owned; restore it (exec would too) so the score
    # below can be written. Private
    # descriptors are close-on-exec and no user code runs yet.
    set_dumpable(True)
    # Make the user's processes the OOM killer's first choice (raising one's
    # own score needs no privilege), so a memory bomb kills the bomb and not
    # the runner that reports it.
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class StreamPump:
    """Forwards the child's stdout/stderr as chunks, in arrival order, capped."""

    def __init__(self, writer: p.FdFrameWriter, cap: int) -> None:
        self.writer = writer
        self.cap = cap
        self.sent = {p.KIND_STDOUT: 0, p.KIND_STDERR: 0}
        self.truncated = {p.KIND_STDOUT: False, p.KIND_STDERR: False}
        self.pending_kind = p.KIND_STDOUT
        self.pending = bytearray()
        self.pending_since = 0.0

    def add(self, kind: int, data: bytes) -> None:
        room = self.cap - self.sent[kind]
        if len(data) > room:
            # Past the cap the bytes are dropped but still read, so the child
            # never blocks on a full pipe.
            self.truncated[kind] = True
            data = data[: max(room, 0)]
        if not data:
            return
        self.sent[kind] += len(data)
        if self.pending and self.pending_kind != kind:
            self.flush()  # keep the stdout/stderr interleaving as observed
        if not self.pending:
            self.pending_since = time.monotonic()
        self.pending_kind = kind
        self.pending += data
        while len(self.pending) >= CHUNK_BYTES:
            self.writer.raw(kind, bytes(self.pending[:CHUNK_BYTES]))
            del self.pending[:CHUNK_BYTES]
            self.pending_since = time.monotonic()

    def flush_due(self) -> float | None:
        return self.pending_since + FLUSH_DELAY if self.pending else None

    def flush(self) -> None:
        if self.pending:
            self.writer.raw(self.pending_kind, bytes(self.pending))
            self.pending.clear()


@dataclass
class ChildRun:
    returncode: int | None  # None when timed out
    timed_out: bool
    report: bytes  # what function mode's harness reported
    report_overflow: bool
    usage: RunUsage | None  # None: not measured


class HostGone(Exception):
    """The host closed the runner's stdin: nobody will read the outcome."""


class Standby:
    """The function-mode child, started while the runner idles and blocked
    on its stdin until the job's order comes (call_main.py's `--standby`).

    It saves the job the interpreter's start and the harness's imports. It
    is the same process a job would start (uid 10001, own session, OOM
    score, no core dumps, exec'd before any job byte exists), and nothing of
    another job can reach it: the container serves one job. What it cannot
    take from an order is what an interpreter or the C library reads once
    at start-up (`STARTUP_VARIABLES`): a job that sets one of those, a
    program-mode script or a shell script gets a child started for it, and
    the standby is killed first.
    """

    def __init__(self) -> None:
        self.report_r, report_w = os.pipe()
        try:
            self.proc: subprocess.Popen[bytes] = _spawn(
                ["python3", "-u", CALL_MAIN, "--standby", str(report_w)],
                cwd="/",
                env=child_env(None),
                stdin=subprocess.PIPE,
                report_w=report_w,
            )
        except BaseException:
            os.close(self.report_r)
            raise
        finally:
            os.close(report_w)

    def fits(self, job: Job, shape: ScriptShape) -> bool:
        return (
            job.language == "python"
            and shape.function_mode
            and not any(_read_at_start_up(name) for name in job.env)
            and self.proc.poll() is None
        )

    def give(self, job: Job) -> bool:
        """Hand it the job; False when it died before it could take it."""
        assert self.proc.stdin is not None
        order: dict[str, object] = {
            "script": job.script_path,
            "cwd": WORK_DIR,
            "stdin": INPUT_PATH,
            "env": child_env(job),
        }
        try:
            self.proc.stdin.write(json.dumps(order).encode())
            self.proc.stdin.close()
        except OSError:  # BrokenPipeError: it is gone
            return False
        return True

    def discard(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        os.close(self.report_r)


# Variables an interpreter, the dynamic loader or libc read once when a
# process starts: a standby started without them would ignore them.
STARTUP_PREFIXES = ("PYTHON", "LD_", "LC_", "MALLOC_", "GLIBC_", "GCONV_")
STARTUP_VARIABLES = frozenset(
    {"LANG", "LANGUAGE", "HOME", "PATH", "TZ", "LOCPATH", "NLSPATH", "TERMINFO", "TMPDIR"}
)


def _read_at_start_up(name: str) -> bool:
    return name in STARTUP_VARIABLES or name.startswith(STARTUP_PREFIXES)


def _spawn(
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    stdin: int | IO[bytes],
    report_w: int | None,
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(report_w,) if report_w is not None else (),
        start_new_session=True,
        # setreuid(10001, 10001): real and saved uid leave root, so
        # the script cannot signal or trace the runner, nor regain
        # any capability (runner_identity).
        user=SANDBOX_UID,
        preexec_fn=_prepare_child,
    )


def run_child(
    job: Job,
    shape: ScriptShape,
    pump: StreamPump,
    report_cap: int,
    standby: Standby | None = None,
) -> ChildRun:
    timeout = job.limits["timeout_seconds"]
    if standby is not None:
        # Read before the order is written: from then on it is the run's time.
        before = cpu_so_far(standby.proc.pid)
        if standby.fits(job, shape) and standby.give(job):
            try:
                return _pump(standby.proc, pump, standby.report_r, report_cap, timeout, before)
            finally:
                os.close(standby.report_r)
        standby.discard()
    report_r, report_w = os.pipe()
    try:
        with open(INPUT_PATH, "rb") as stdin:
            proc = _spawn(
                child_argv(job, shape, report_w),
                cwd=WORK_DIR,
                env=child_env(job),
                stdin=stdin,  # the input JSON, as a file: never blocks the runner
                report_w=report_w if shape.function_mode else None,
            )
    finally:
        os.close(report_w)
    try:
        return _pump(proc, pump, report_r, report_cap, timeout, CpuTimes())
    finally:
        os.close(report_r)


def _pump(
    proc: subprocess.Popen[bytes],
    pump: StreamPump,
    report_r: int,
    report_cap: int,
    timeout: float,
    cpu_before: CpuTimes,
) -> ChildRun:
    """Pump the child's output until it exits or times out.

    The child is reaped only at the end, with ``wait4``, which gives its
    resource usage (see usage.py): until then its exit is observed without
    reaping it (``_exited``), as ``Popen.poll`` would reap it and lose that.
    """
    assert proc.stdout is not None and proc.stderr is not None
    started = time.monotonic()
    deadline = started + timeout
    selector = selectors.DefaultSelector()
    streams = {proc.stdout.fileno(): p.KIND_STDOUT, proc.stderr.fileno(): p.KIND_STDERR}
    for fd in streams:
        selector.register(fd, selectors.EVENT_READ, "stream")
    selector.register(report_r, selectors.EVENT_READ, "report")
    # Stdin EOF while the job runs means the host hung up: stop at once
    # rather than run on to the timeout.
    selector.register(0, selectors.EVENT_READ, "host")
    pidfd = _pidfd(proc.pid)
    if pidfd is not None:
        selector.register(pidfd, selectors.EVENT_READ, "exit")
    report = bytearray()
    report_overflow = False

    def read_ready(fd: int, purpose: str) -> None:
        nonlocal report_overflow
        data = os.read(fd, READ_BYTES)
        if not data:
            selector.unregister(fd)
            if purpose == "host":
                kill_everything_else()
                raise HostGone
        elif purpose == "stream":
            pump.add(streams[fd], data)
        elif purpose == "report":
            if len(report) + len(data) <= report_cap:
                report.extend(data)
            else:
                report_overflow = True

    timed_out = False
    while not _exited(proc.pid):
        now = time.monotonic()
        if now >= deadline:
            timed_out = True
            break
        wait = deadline - now
        due = pump.flush_due()
        if due is not None:
            wait = min(wait, due - now)
        if pidfd is None:
            wait = min(wait, 0.01)  # no pidfd (old kernel, seccomp): poll
        for key, _ in selector.select(max(wait, 0)):
            if key.data != "exit":
                read_ready(key.fd, key.data)
        due = pump.flush_due()
        if due is not None and time.monotonic() >= due:
            pump.flush()

    wall = time.monotonic() - started
    # The main process is gone (or out of time): nothing it started may
    # outlive it, hold the pipes open and hang the drain below.
    kill_everything_else()
    usage = _reap(proc, wall, cpu_before)
    selector.unregister(0)
    if pidfd is not None:
        selector.unregister(pidfd)
        os.close(pidfd)
    drain_until = time.monotonic() + DRAIN_SECONDS
    while selector.get_map() and time.monotonic() < drain_until:
        for key, _ in selector.select(max(drain_until - time.monotonic(), 0)):
            read_ready(key.fd, key.data)
    pump.flush()
    selector.close()
    proc.stdout.close()
    proc.stderr.close()
    return ChildRun(
        returncode=None if timed_out else proc.returncode,
        timed_out=timed_out,
        report=bytes(report),
        report_overflow=report_overflow,
        usage=usage,
    )


def _reap(proc: subprocess.Popen[bytes], wall: float, cpu_before: CpuTimes) -> RunUsage | None:
    """Reap the child with ``wait4``; its usage, or None if someone else
    reaped it first (nothing here does; then the run is just not measured)."""
    try:
        _, wait_status, rusage = os.wait4(proc.pid, 0)
    except ChildProcessError:
        proc.wait()
        return None
    proc.returncode = os.waitstatus_to_exitcode(wait_status)
    return run_usage(rusage, wall, cpu_before)


def _exited(pid: int) -> bool:
    """The child has ended; it stays a zombie until reaped by ``wait4``."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def kill_everything_else() -> None:
    """SIGKILL every process but this one and init, until none is left.

    The runner's effective uid is the user's, and kill(-1) reaches every
    process it may signal except the caller and PID 1 (docker-init): every
    process of the user's code, including those that left the child's
    session with setsid. Repeat to catch processes forked while the signal
    was being delivered.
    """
    me = os.getpid()
    for _ in range(200):
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        if not _others_alive(me):
            return
        time.sleep(0.005)
    diag("some processes survived SIGKILL")


def _others_alive(me: int) -> bool:
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (1, me):
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):  # zombies hold nothing; init reaps them
            return True
    return False


def oom_kills() -> int:
    """How many processes the kernel OOM-killed in this container's cgroup."""
    for path in (
        "/sys/fs/cgroup/memory/memory.oom_control",  # cgroup v1
        "/sys/fs/cgroup/memory.events",  # cgroup v2
    ):
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(" ")
                    if name == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return 0
