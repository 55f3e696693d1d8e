"""Where the machine's CPU went during a phase: the service process, the
Docker engine (dockerd, containerd and the live shims), and the machine in
all (which includes the sandbox containers, and other people's work on a
shared machine)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

ENGINE = ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "runc")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Snapshot:
    at: float
    machine_busy: float
    service: float
    engine: dict[int, float]
    service_pid: int


def machine_busy() -> float:
    """CPU seconds the machine's cores have been busy, all together."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / TICKS


def _process_cpu(pid: int) -> tuple[str, float]:
    text = Path(f"/proc/{pid}/stat").read_text()
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text.rsplit(")", 1)[1].split()
    # utime, stime, and the waited-for children's cutime, cstime.
    return name, sum(int(v) for v in fields[11:15]) / TICKS


def _engine() -> dict[int, float]:
    return named(ENGINE)


def named(prefixes: tuple[str, ...]) -> dict[int, float]:
    """CPU seconds so far of each process whose name starts with one of `prefixes`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, cpu = _process_cpu(int(entry.name))
        except (OSError, ValueError):
            continue
        if name.startswith(prefixes):
            found[int(entry.name)] = cpu
    return found


def of_pids(pids: list[int]) -> float:
    """CPU seconds so far of these processes together (those gone count 0)."""
    total = 0.0
    for pid in pids:
        try:
            total += _process_cpu(pid)[1]
        except (OSError, ValueError):
            continue
    return total


def snapshot(service_pid: int) -> Snapshot:
    return Snapshot(
        time.monotonic(), machine_busy(), _process_cpu(service_pid)[1], _engine(), service_pid
    )


def since(before: Snapshot) -> str:
    """Average cores busy since `before`: machine, service, Docker engine."""
    after = snapshot(before.service_pid)
    span = max(1e-9, after.at - before.at)
    engine = sum(cpu - before.engine.get(pid, 0.0) for pid, cpu in after.engine.items())
    return (
        f"machine {(after.machine_busy - before.machine_busy) / span:.2f}, "
        f"service {(after.service - before.service) / span:.2f}, "
        f"Docker engine (dockerd, containerd, shims) {engine / span:.2f} over {span:.1f} s"
    )
