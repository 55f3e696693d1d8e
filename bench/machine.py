"""What the figures were measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.service import ROOT


def _run(*args: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def describe() -> dict[str, Any]:
    load1, load5, _ = os.getloadavg()
    snapshot = os.environ.get("SCRIPTBOX_BENCH_COMMIT")
    commit = snapshot or _run("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD")
    dirty = not snapshot and bool(
        _run("git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no")
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + ("+dirty" if dirty else ""),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": round(_memory_gib(), 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "docker": _run("docker", "version", "--format", "{{.Server.Version}}") or "unknown",
        "storage_driver": _run("docker", "info", "--format", "{{.Driver}}"),
        "load_at_start": f"{load1:.2f} (1 min), {load5:.2f} (5 min)",
    }


def one_line(info: dict[str, Any]) -> str:
    return (
        f"{info['cores']} cores ({info['cpu']}), {info['memory_gib']} GiB, "
        f"Linux {info['kernel']}, Python {info['python']}, Docker {info['docker']}"
        f" ({info.get('storage_driver') or '?'}); load at start {info['load_at_start']}"
    )
