"""The in-container runner's code, run on the host against a temp directory.

The runner keeps its job in ``/job``, a tmpfs of the sandbox image; its
modules name those paths as module constants. Pointing the constants at a
temp directory lets unit tests drive the runner's real functions (the
verdict, the artifact budget, the job bundle, the stream pump) with real
files and descriptors, and ``run_runner`` starts the whole runner as the
image does (``runner_in_namespace``), without an image rebuild per change,
which is what mutation testing of the runner needs.
"""

from __future__ import annotations

import fcntl
import os
import selectors
import shutil
import struct
import subprocess
import tempfile
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sandbox.conversation import bundle_frames
from sandbox.job import SandboxJob
from sandbox.runner import artifacts as runner_artifacts
from sandbox.runner import child as runner_child
from sandbox.runner import job as runner_job
from sandbox.runner import protocol as p
from sandbox.runner import verdict as runner_verdict
from tests.support.runner_in_namespace import REPO, job_paths

SANDBOX_UID = 10001  # the script's uid, which owns the image's /job
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, as in the image
KEY = bytes(range(32))
# Its own PID namespace (kill(-1) reaches only its processes) and mount
# namespace (its own /proc, and the test's folder on /sys/fs/cgroup).
NAMESPACES = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
# Names itself argv[1] (what /proc/<pid>/stat shows), listens on the socket
# argv[3] (open to every uid), says so by creating argv[2], and keeps every
# descriptor sent to it there until it is killed with the namespace.
FOREIGN_PROCESS = """
import ctypes, os, socket, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[3])
os.chmod(sys.argv[3], 0o777)
server.listen()
open(sys.argv[2], "w").close()
kept = []
while True:
    connection, _ = server.accept()
    kept.append((connection, socket.recv_fds(connection, 16, 16)))
"""
# What a host that ``send_on`` sends on the runner's stdin while the job runs.
LATE_BYTES = b"bytes the host sends after start"


def point_runner_at(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every runner module's job paths now lie under ``root``."""
    paths = job_paths(str(root))
    for module in (runner_job, runner_child, runner_verdict, runner_artifacts):
        for name, value in paths.items():
            if hasattr(module, name):
                monkeypatch.setattr(module, name, value)


def read_frames(path: Path) -> list[p.Frame]:
    """Every frame written to the file at ``path``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = p.FdFrameReader(fd)
        frames = []
        while (frame := reader.read()) is not None:
            frames.append(frame)
        return frames
    finally:
        os.close(fd)


def blobs(frames: list[p.Frame]) -> list[tuple[dict[str, object], bytes]]:
    """(header, data) of each blob in a frame list (JSON header, then D frames)."""
    found: list[tuple[dict[str, object], bytes]] = []
    for frame in frames:
        if frame.kind == p.KIND_JSON:
            found.append((p.decode_json(frame.payload), b""))
        elif frame.kind == p.KIND_DATA:
            header, data = found[-1]
            found[-1] = (header, data + frame.payload)
    return found


@dataclass
class RunnerReply:
    """What the runner wrote (its frames, decoded) and how it ended."""

    returncode: int
    diagnostics: str  # the runner's own stderr
    stdout: bytes = b""
    stderr: bytes = b""
    output: list[tuple[int, bytes]] = field(default_factory=list)  # (kind, payload) in order
    result: bytes | None = None
    artifacts: dict[str, bytes] = field(default_factory=dict)
    exit: dict[str, Any] | None = None
    mac_matches: bool = False
    # With HostConduct.hold_after_report: whether the runner was still
    # running that long after its report, before the host hung up.
    alive_after_report: bool | None = None


@dataclass
class RunnerWorkspace:
    """A job folder (and a cgroup folder) the runner and its child may use."""

    job: Path
    cgroup: Path  # mounted on /sys/fs/cgroup in the runner's namespace
    signals: Path  # where processes of any uid may leave files for the test


def can_run_runner() -> str | None:
    """Why the runner cannot be started here, or None."""
    if os.geteuid() != 0:
        return "starting the runner as the image does needs root (namespaces, setpriv)"
    for tool in ("unshare", "setpriv", SYSTEM_PYTHON):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@pytest.fixture
def runner_workspace() -> Iterator[RunnerWorkspace]:
    reason = can_run_runner()
    if reason is not None:
        pytest.skip(reason)
    # Not pytest's tmp_path: its parents are closed to the sandbox uid.
    top = Path(tempfile.mkdtemp(prefix="scriptbox-runner-"))
    try:
        top.chmod(0o755)
        workspace = RunnerWorkspace(top / "job", top / "cgroup", top / "signals")
        for folder in (workspace.job, workspace.cgroup):
            folder.mkdir()
            os.chown(folder, SANDBOX_UID, SANDBOX_UID)
        workspace.signals.mkdir()
        workspace.signals.chmod(0o777)
        yield workspace
    finally:
        shutil.rmtree(top)


@dataclass(frozen=True)
class HostConduct:
    """How the test host treats the runner (the default: as the real host does)."""

    frames: list[bytes] | None = None  # instead of the job's bundle
    hang_up_at_once: bool = False  # close the runner's stdin right after the bundle
    hang_up_on: bytes | None = None  # ...once this text appears on its stdout
    stop_reading_on: bytes | None = None  # close its stdout once this text appears
    sandboxed: bool = True  # with the image's SCRIPTBOX_IN_SANDBOX=1
    privileged: bool = False  # with every capability of root, not only SETUID/SETGID
    stray_print: bool = False  # a print on the runner's stdout (runner_in_namespace)
    proc_read_only: bool = False  # /proc mounted read-only
    # /proc mounted hidepid=1: another user's /proc/<pid>/ is listed but closed.
    proc_hides_others: bool = False
    # A process of another uid, which the runner cannot signal, named so. It
    # keeps the descriptors a script sends it on signals/foreign.sock.
    foreign_process: str | None = None
    # Read nothing of the runner's stdout until the script has created this
    # file in ``RunnerWorkspace.signals`` (so the runner blocks on a write).
    read_after: str | None = None
    # Once this text appears on its stdout, send LATE_BYTES on its stdin and,
    # once the runner has read them, create ``sent`` in the signals folder.
    send_on: bytes | None = None
    frozen_clock: bool = False  # the runner's clock (runner_child's) stands still
    # After the report, wait this long before hanging up, and see whether
    # the runner is still there.
    hold_after_report: float = 0.0


def run_runner(
    workspace: RunnerWorkspace,
    job: SandboxJob,
    conduct: HostConduct = HostConduct(),
    deadline_seconds: float = 30.0,
) -> RunnerReply:
    """Start the runner as the image does, send it ``job``, read it to the end."""
    # The shell stays PID 1, as docker-init does in the container: the
    # runner must neither signal it nor wait for it to die.
    capabilities = "" if conduct.privileged else "setpriv --bounding-set=-all,+setuid,+setgid "
    command = (
        'mount --bind "$1" /sys/fs/cgroup || exit 98; '
        '[ -z "$3" ] || { setpriv --reuid=10002 --regid=10002 --clear-groups '
        f'{SYSTEM_PYTHON} -c "$FOREIGN" "$3" "$5/foreign-ready" "$5/foreign.sock" & '
        'until [ -e "$5/foreign-ready" ]; do sleep 0.01; done; }; '
        '[ -z "$4" ] || mount -o "remount,$4" /proc || exit 97; '
        f"{capabilities}{SYSTEM_PYTHON} -E -s -B -m tests.support.runner_in_namespace "
        '"$2"; exit $?'
    )
    proc_options = ",".join(
        option
        for option, wanted in [
            ("ro", conduct.proc_read_only),
            ("hidepid=1", conduct.proc_hides_others),
        ]
        if wanted
    )
    arguments = [
        str(workspace.cgroup),
        str(workspace.job),
        conduct.foreign_process or "",
        proc_options,
        str(workspace.signals),
    ]
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "SCRIPTBOX_TEST_HOST_PID_NAMESPACE": os.readlink("/proc/self/ns/pid"),
        "FOREIGN": FOREIGN_PROCESS,
    }
    if conduct.sandboxed:
        env["SCRIPTBOX_IN_SANDBOX"] = "1"
    if conduct.stray_print:
        env["SCRIPTBOX_TEST_STRAY_PRINT"] = "1"
    if conduct.frozen_clock:
        env["SCRIPTBOX_TEST_FROZEN_CLOCK"] = "1"
    with tempfile.TemporaryFile() as diagnostics:
        proc = subprocess.Popen(
            [*NAMESPACES, "sh", "-c", command, "sh", *arguments],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=diagnostics,
        )
        returncode, reply_frames, alive = _converse(proc, workspace, job, conduct, deadline_seconds)
        diagnostics.seek(0)
        reply = RunnerReply(returncode, diagnostics.read().decode("utf-8", "replace"))
    reply.alive_after_report = alive
    _decode_reply(reply_frames, reply)
    return reply


def _converse(
    proc: subprocess.Popen[bytes],
    workspace: RunnerWorkspace,
    job: SandboxJob,
    conduct: HostConduct,
    deadline_seconds: float,
) -> tuple[int, list[p.Frame], bool | None]:
    assert proc.stdin is not None and proc.stdout is not None
    frames = bundle_frames(job, KEY) if conduct.frames is None else conduct.frames
    try:
        try:
            proc.stdin.write(b"".join(frames))
            proc.stdin.flush()
            if conduct.hang_up_at_once:
                proc.stdin.close()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + deadline_seconds
        if conduct.read_after is not None:
            signal = workspace.signals / conduct.read_after
            while not signal.exists():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the script never created {signal}")
                time.sleep(0.01)
        reply_frames = _read_frames(proc, workspace, conduct, deadline)
        if conduct.stop_reading_on is not None:
            # Stdin stays open: the runner must notice the closed stdout itself.
            proc.stdout.close()
            return proc.wait(timeout=deadline_seconds), reply_frames, None
        alive = None
        if conduct.hold_after_report > 0:
            time.sleep(conduct.hold_after_report)
            alive = proc.poll() is None
        if not proc.stdin.closed:
            proc.stdin.close()
        return proc.wait(timeout=deadline_seconds), reply_frames, alive
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        if not proc.stdin.closed:
            proc.stdin.close()


def _read_frames(
    proc: subprocess.Popen[bytes],
    workspace: RunnerWorkspace,
    conduct: HostConduct,
    deadline: float,
) -> list[p.Frame]:
    """Every frame up to the exit message or the end of the runner's stdout."""
    assert proc.stdin is not None and proc.stdout is not None
    decoder = p.FrameDecoder()
    frames: list[p.Frame] = []
    stdout = b""
    sent = False
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout.fileno(), selectors.EVENT_READ)
        while not any(_is_exit(frame) for frame in frames):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the runner neither reported nor ended")
            if not selector.select(left):
                continue
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            for frame in decoder.feed(data):
                frames.append(frame)
                if frame.kind == p.KIND_STDOUT:
                    stdout += frame.payload
            if conduct.send_on is not None and conduct.send_on in stdout and not sent:
                _send_late_bytes(proc, workspace, deadline)
                sent = True
            hang_up = conduct.hang_up_on is not None and conduct.hang_up_on in stdout
            if hang_up and not proc.stdin.closed:
                proc.stdin.close()
            if conduct.stop_reading_on is not None and conduct.stop_reading_on in stdout:
                break
    return frames


def _send_late_bytes(
    proc: subprocess.Popen[bytes], workspace: RunnerWorkspace, deadline: float
) -> None:
    """Send LATE_BYTES on the runner's stdin, wait until the runner has read
    them all (none is left in the pipe), then say so in ``signals/sent``."""
    assert proc.stdin is not None
    proc.stdin.write(LATE_BYTES)
    proc.stdin.flush()
    while _unread(proc.stdin.fileno()):
        if time.monotonic() > deadline:
            raise TimeoutError("the runner never read what the host sent")
        time.sleep(0.01)
    (workspace.signals / "sent").touch()


def _unread(fd: int) -> int:
    """How many bytes wait in the pipe of ``fd`` (either end)."""
    count: int = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, bytes(4)))[0]
    return count


def _is_exit(frame: p.Frame) -> bool:
    return frame.kind == p.KIND_JSON and p.decode_json(frame.payload)["type"] == p.Msg.EXIT


def _decode_reply(frames: list[p.Frame], reply: RunnerReply) -> None:
    mac = p.StreamMac(KEY)
    blob: tuple[dict[str, Any], bytearray] | None = None
    for frame in frames:
        if frame.kind in (p.KIND_STDOUT, p.KIND_STDERR):
            reply.output.append((frame.kind, frame.payload))
        if frame.kind == p.KIND_STDOUT:
            reply.stdout += frame.payload
        elif frame.kind == p.KIND_STDERR:
            reply.stderr += frame.payload
        elif frame.kind == p.KIND_DATA:
            assert blob is not None
            blob[1].extend(frame.payload)
        else:
            message = p.decode_json(frame.payload)
            if message["type"] == p.Msg.EXIT:
                reply.exit = message
                reply.mac_matches = mac.matches(message["mac"])
            else:
                blob = (message, bytearray())
        mac.add(frame.kind, frame.payload)
        if blob is not None and len(blob[1]) == blob[0]["size"]:
            header, data = blob
            if header["type"] == p.Msg.RESULT:
                reply.result = bytes(data)
            else:
                reply.artifacts[str(header["name"])] = bytes(data)
            blob = None
