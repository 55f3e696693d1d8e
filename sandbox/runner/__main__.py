"""The in-container runner: receives one job on stdin, runs it, reports, exits
once the host hangs up.

Started by the image as ``python3 -E -s -m sandbox.runner`` (as root with only
CAP_SETUID/CAP_SETGID, under docker-init; ``runner_identity`` keeps its real
uid 0 and makes its effective uid 10001, the script's). It idles reading stdin
until the host sends a job bundle (see ``sandbox.runner.protocol``), writes the job's
files into the ``/job`` tmpfs, runs the user's code in a child process
(``runner_child``), streams the child's stdout/stderr as framed chunks, then
sends the artifacts from ``/job/out`` (``runner_artifacts``), the result and a
final ``exit`` message (``runner_verdict``), waits for the host to hang up
(``LINGER_SECONDS`` at most), and exits: one container, one job.

Stdlib only; runs on Debian bookworm's Python 3.11. The runner's own stdout
is moved to a private descriptor at start, so nothing else in the container
can write into the frame stream.
"""

from __future__ import annotations

import os
import select
import sys
import time

from sandbox.runner import protocol as p
from sandbox.runner.artifacts import send_artifacts
from sandbox.runner.child import (
    HostGone,
    ScriptShape,
    Standby,
    StreamPump,
    inspect_python,
    oom_kills,
    run_child,
    set_dumpable,
)
from sandbox.runner.http_bridge import HttpBridge, listen
from sandbox.runner.identity import WrongIdentity, drop_to_runner_identity
from sandbox.runner.job import Job, diag, receive_job
from sandbox.runner.verdict import judge

MAX_REPORTED_REJECTIONS = 100
REPORT_HEADER_BYTES = 4096  # function mode's report: a JSON line, then the result
# After its report the runner waits (every process of the script is dead by
# then) until the host hangs up, at most this long: the host removes the
# container once it has recorded the run, so the container's teardown does
# not compete with that.
LINGER_SECONDS = 30.0


def run_job(job: Job, writer: p.FdFrameWriter, standby: Standby | None = None) -> None:
    started = time.monotonic()
    writer.mac = p.StreamMac(job.key)
    limits = job.limits
    shape = ScriptShape(function_mode=False)
    if job.language == "python":
        shape = inspect_python(job.script_path)
    elif job.language == "javascript":
        # Whether it exports main shows only once it has loaded: its harness
        # reports on a main it called, and stays silent for a program.
        shape = ScriptShape(function_mode=True)
    pump = StreamPump(writer, int(limits["output_bytes_per_stream"]))
    oom_before = oom_kills()
    report_cap = int(limits["result_bytes"]) + REPORT_HEADER_BYTES
    bridge = start_http_bridge() if job.http else None
    try:
        run = run_child(job, shape, pump, report_cap, standby)
    finally:
        if bridge is not None:
            bridge.stop()
    verdict = judge(job, shape, run, oom_kills() - oom_before)

    rejected = send_artifacts(writer, limits)
    if verdict.result is not None:
        writer.blob({"type": p.Msg.RESULT}, verdict.result)
    writer.json(
        {
            "type": p.Msg.EXIT,
            "status": verdict.status,
            "exit_code": verdict.exit_code,
            "error_code": verdict.error_code,
            "error_message": verdict.error_message,
            "stdout_truncated": pump.truncated[p.KIND_STDOUT],
            "stderr_truncated": pump.truncated[p.KIND_STDERR],
            "rejected_artifacts": [name[:300] for name in rejected[:MAX_REPORTED_REJECTIONS]],
            "duration_ms": int((time.monotonic() - started) * 1000),
            "usage": run.usage.message() if run.usage is not None else None,
            "mac": writer.mac.hexdigest(),
        }
    )


def await_hang_up(fd: int, seconds: float) -> None:
    """Return at end of input on `fd`, or after `seconds`."""
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], left)
            if ready and not os.read(fd, 65536):
                return
    except OSError:
        return  # the host's end is broken: as good as hung up


def start_http_bridge() -> HttpBridge | None:
    """The host-facing socket of an http service, bridged to its $PORT.

    A bridge that cannot start leaves the service running, unreachable: the
    host's proxy answers 502, and the reason is in the diagnostics."""
    try:
        bridge = HttpBridge(listen())
    except OSError as exc:
        diag(f"no http bridge: {exc}")
        return None
    bridge.start()
    return bridge


def main() -> int:
    if os.environ.get("SCRIPTBOX_IN_SANDBOX") != "1":
        # The runner kills every process it may signal once a job ends:
        # never do that in a host session.
        diag("refusing to run outside the sandbox image")
        return 2
    try:
        # Before the first byte of a job is read: real uid 0, effective
        # 10001, so the script can neither signal nor trace the runner.
        drop_to_runner_identity()
    except (WrongIdentity, OSError) as exc:
        diag(f"refusing to run: {exc}")
        return 2
    # The kernel already made the runner non-dumpable when its effective uid
    # changed; say so explicitly, as nothing else closes /proc/<pid>/fd and
    # ptrace to a process with the runner's effective uid.
    set_dumpable(False)
    # Frames go to a private copy of stdout; fd 1 becomes stderr, so a stray
    # print in the runner can never corrupt the frame stream.
    out_fd = os.dup(1)
    os.set_inheritable(out_fd, False)
    os.dup2(2, 1)
    writer = p.FdFrameWriter(out_fd)
    # Started now, while nobody waits: a job in function mode skips the
    # child's start-up (see Standby). Should it fail, jobs start their own.
    standby = None
    try:
        standby = Standby()
    except OSError as exc:
        diag(f"no standby child: {exc}")
    try:
        job = receive_job(p.FdFrameReader(0))
    except (p.ProtocolError, OSError, ValueError) as exc:
        diag(f"bad job bundle: {exc}")
        return 2
    if job is None:
        return 0  # the host dropped this idle container
    try:
        run_job(job, writer, standby)
    except (HostGone, BrokenPipeError):
        return 3  # nobody is left to report to
    await_hang_up(0, LINGER_SECONDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
