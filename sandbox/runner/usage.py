"""In-container: what one run of the user's code cost (memory, CPU, wall time).

Part of the runner (stdlib only). The numbers are the kernel's accounting of
the run's main process, taken when the runner reaps it with ``wait4``: the
process's own CPU time plus that of every descendant it waited for, and the
largest resident set among them (``ru_maxrss``).

Chosen over the container's cgroup counters (``memory.max_usage_in_bytes``
and ``cpuacct.usage*`` on cgroup v1, ``memory.peak`` and ``cpu.stat`` on v2),
which the runner could read as well, because those describe the container,
not the run: they include the runner itself, the warm container's idle wait
before the job arrived, and the job's files in the ``/job`` tmpfs (charged
as shared memory); and neither version lets a process without write access
to the cgroup reset its peak at the start of a job (the cgroup file system
is read-only here, and v1 has no per-reader reset at all). ``wait4`` is exact
per run, needs no cgroup access, and reads the same on cgroup v1, v2 and
hybrid hosts.

What it cannot see: descendants the run left behind, which the runner kills
when the main process ends and docker-init (PID 1) reaps; their CPU time is
not counted. A standby child (``child.Standby``) was started before the job:
its CPU time up to the moment it takes the job is subtracted, so the run is
measured, not the interpreter's start-up during the idle wait.
"""

from __future__ import annotations

import os
import resource
from dataclasses import asdict, dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuTimes:
    user: float = 0.0
    system: float = 0.0


@dataclass(frozen=True)
class RunUsage:
    peak_memory_bytes: int
    cpu_user_seconds: float
    cpu_system_seconds: float
    wall_seconds: float

    def message(self) -> dict[str, float | int]:
        """As the ``usage`` of the runner's ``exit`` message."""
        return asdict(self)


def cpu_so_far(pid: int) -> CpuTimes:
    """The CPU time a live process has used until now (``/proc/<pid>/stat``,
    in clock ticks); zero when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            fields = f.read().rsplit(b")", 1)[1].split()
        # utime and stime are the 14th and 15th fields, 12th and 13th after comm.
        return CpuTimes(int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS)
    except (OSError, IndexError, ValueError):
        return CpuTimes()


def run_usage(rusage: resource.struct_rusage, wall_seconds: float, before: CpuTimes) -> RunUsage:
    """The run's usage from ``wait4``'s rusage, less what the process had used
    before the job (`before`: a standby's start-up)."""
    return RunUsage(
        # Linux reports ru_maxrss in KiB.
        peak_memory_bytes=int(rusage.ru_maxrss) * 1024,
        cpu_user_seconds=round(max(rusage.ru_utime - before.user, 0.0), 6),
        cpu_system_seconds=round(max(rusage.ru_stime - before.system, 0.0), 6),
        wall_seconds=round(max(wall_seconds, 0.0), 6),
    )
