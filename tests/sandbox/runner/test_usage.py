"""The runner's measure of a run (sandbox/runner/usage.py), on this host's
own processes: wait4's numbers, less what a standby used before its job."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

from sandbox.runner.usage import CpuTimes, cpu_so_far, run_usage

SPIN = (
    "import time\n"
    "start = time.process_time()\n"
    "while time.process_time() - start < 0.3:\n"
    "    sum(range(10000))\n"
    "block = b'x' * (50 * 2**20)\n"
)


def reaped_rusage(code: str) -> resource.struct_rusage:
    child = subprocess.Popen([sys.executable, "-c", code])
    _, status, rusage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0
    return rusage


def test_a_run_is_its_child_cpu_and_largest_resident_set() -> None:
    usage = run_usage(reaped_rusage(SPIN), 0.5, CpuTimes())
    assert usage.cpu_user_seconds >= 0.2
    assert usage.cpu_system_seconds >= 0
    assert usage.peak_memory_bytes > 50 * 2**20  # ru_maxrss is KiB: reported in bytes
    assert usage.wall_seconds == 0.5


def test_what_the_process_used_before_its_job_is_not_the_runs() -> None:
    rusage = reaped_rusage(SPIN)
    full = run_usage(rusage, 1.0, CpuTimes())
    less = run_usage(rusage, 1.0, CpuTimes(user=0.1, system=0.0))
    assert abs(full.cpu_user_seconds - less.cpu_user_seconds - 0.1) < 1e-6
    # Never below zero: /proc's ticks and wait4's microseconds round apart.
    none = run_usage(rusage, 1.0, CpuTimes(user=100.0, system=100.0))
    assert (none.cpu_user_seconds, none.cpu_system_seconds) == (0.0, 0.0)


def test_cpu_so_far_reads_a_live_process() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", SPIN + "import sys\nsys.stdin.read()\n"],
        stdin=subprocess.PIPE,
    )
    try:
        # Once it waits on stdin it has spun: poll /proc until its time shows.
        for _ in range(400):
            used = cpu_so_far(child.pid)
            if used.user >= 0.2:
                break
            time.sleep(0.05)
        assert used.user >= 0.2
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
    assert cpu_so_far(child.pid) == CpuTimes()  # gone: nothing to subtract
