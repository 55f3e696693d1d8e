"""In-container: send the regular files under /job/out back as artifacts.

Part of the runner (stdlib only). Runs after every process of the job is
dead, and still trusts nothing it finds: entries are examined with lstat and
opened relative to their directory with O_NOFOLLOW, so a symlink, fifo or
device is refused and never followed or opened, wherever it points.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from sandbox.runner import protocol as p
from sandbox.runner.job import OUT_DIR
from sandbox.runner.verdict import read_up_to

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_DEPTH = 8


@dataclass
class _Budget:
    max_count: int
    max_total: int
    count: int = 0
    total: int = 0
    rejected: list[str] = field(default_factory=list)


def send_artifacts(writer: p.FdFrameWriter, limits: dict[str, float]) -> list[str]:
    """Send what fits the caps; return the refused entries with the reason."""
    budget = _Budget(int(limits["artifact_max_count"]), int(limits["artifact_max_total_bytes"]))
    try:
        root = os.open(OUT_DIR, DIR_FLAGS)
    except OSError:
        return ["out (not a directory)"]
    try:
        _send_dir(writer, root, "", budget, depth=0)
    finally:
        os.close(root)
    return budget.rejected


def _send_dir(
    writer: p.FdFrameWriter, dir_fd: int, prefix: str, budget: _Budget, depth: int
) -> None:
    try:
        entries = sorted(os.listdir(dir_fd))
    except OSError:
        return
    for entry in entries:
        shown = f"{prefix}{entry}"
        try:
            info = os.lstat(entry, dir_fd=dir_fd)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            _send_subdir(writer, dir_fd, entry, f"{shown}/", budget, depth)
        elif not stat.S_ISREG(info.st_mode):
            budget.rejected.append(f"{shown} ({_kind(info.st_mode)})")
        elif budget.count >= budget.max_count:
            budget.rejected.append(f"{shown} (more than {budget.max_count} artifacts)")
        elif budget.total + info.st_size > budget.max_total:
            budget.rejected.append(f"{shown} (artifacts over {budget.max_total} bytes in total)")
        else:
            _send_file(writer, dir_fd, entry, shown, budget)


def _send_subdir(
    writer: p.FdFrameWriter, dir_fd: int, entry: str, prefix: str, budget: _Budget, depth: int
) -> None:
    if depth >= MAX_DEPTH:
        budget.rejected.append(f"{prefix} (nested too deep)")
        return
    try:
        sub = os.open(entry, DIR_FLAGS, dir_fd=dir_fd)
    except OSError:
        budget.rejected.append(f"{prefix} (cannot open)")
        return
    try:
        _send_dir(writer, sub, prefix, budget, depth + 1)
    finally:
        os.close(sub)


def _send_file(
    writer: p.FdFrameWriter, dir_fd: int, entry: str, shown: str, budget: _Budget
) -> None:
    try:
        fd = os.open(entry, FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        budget.rejected.append(f"{shown} (cannot open)")
        return
    try:
        # Checked again on the open descriptor: what was lstat'ed is what is read.
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            budget.rejected.append(f"{shown} (not a regular file)")
            return
        data = read_up_to(fd, budget.max_total - budget.total + 1)
    finally:
        os.close(fd)
    if budget.total + len(data) > budget.max_total:
        budget.rejected.append(f"{shown} (artifacts over {budget.max_total} bytes in total)")
        return
    budget.count += 1
    budget.total += len(data)
    writer.blob({"type": p.Msg.ARTIFACT, "name": p.sanitize_name(shown)}, data)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"
