"""py-spy around a benchmark's measured phase, and what its samples say.

Profiling is a separate, shorter pass over the benchmarks that missed a goal
(py-spy's sampling costs CPU on a 2-core machine, so it never runs while a
figure is measured). Inside a benchmark, `phase(name, pid)` is a no-op
unless a profiling pass is active."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import cleanup

RATE = 200  # samples per second
PROJECT_PACKAGES = ("graphql_api", "models", "resolvers", "engine", "sandbox", "storage")
TOP = 12
ROOT_SHARE = 0.9
# The outer layers of every stack of the service's threads (process start,
# uvicorn, the event loop, thread bootstrap, ASGI routing): left out of the
# inclusive list, which is about the subtrees that hold the time.
OUTER = (
    "<frozen runpy>",
    "threading.py",
    "graphql_api/cli.py",
    "uvicorn/main.py",
    "uvicorn/server.py",
    "uvicorn/_compat.py",
    "asyncio/runners.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "concurrent/futures/thread.py",
    "starlette/applications.py",
    "starlette/middleware/",
    "starlette/_exception_handler.py",
    "starlette/routing.py",
    "uvicorn/middleware/",
    "uvicorn/protocols/http/httptools_impl.py:RequestResponseCycle.run_asgi",
)


def py_spy() -> str | None:
    found = Path(sys.executable).parent / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


@dataclass
class Session:
    out_dir: Path
    recordings: dict[str, Path] = field(default_factory=dict)


_session: Session | None = None


@contextlib.contextmanager
def session(out_dir: Path) -> Iterator[Session]:
    global _session
    out_dir.mkdir(parents=True, exist_ok=True)
    _session = Session(out_dir)
    try:
        yield _session
    finally:
        _session = None


def active() -> bool:
    return _session is not None


@contextlib.contextmanager
def phase(name: str, pid: int, max_seconds: float = 120) -> Iterator[None]:
    """Sample process `pid` (all its threads) while the block runs."""
    spy = py_spy()
    if _session is None or spy is None:
        yield
        return
    out = _session.out_dir / f"{name}.txt"
    log = (_session.out_dir / f"{name}.log").open("wb")
    process = cleanup.spawn(
        [
            spy, "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw",
            "--nonblocking", "--duration", str(int(max_seconds)), "--output", str(out),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    time.sleep(0.5)  # attached
    try:
        yield
    finally:
        # py-spy writes what it has on SIGINT.
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        cleanup.stop(process)
        if out.exists():
            _session.recordings[name] = out


def _frame_key(frame: str) -> tuple[str, str]:
    """'func (path/file.py:123)' -> ('func', 'path/file.py')."""
    name, _, rest = frame.rpartition(" (")
    path = rest.rstrip(")").rsplit(":", 1)[0]
    return name, path


def _package(path: str) -> str:
    top = path.split("/", 1)[0]
    if path.startswith("<frozen "):
        return "python (frozen)"
    if "/" not in path:
        return "python stdlib"
    return top


def summarize(path: Path) -> dict[str, Any]:
    """Top frames by own time (the leaf), frames by inclusive time (below
    the outer layers), and own time per package."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        leaf_name, leaf_path = _frame_key(frames[-1])
        own[f"{leaf_name} ({leaf_path})"] += count
        packages[_package(leaf_path)] += count
        seen = set()
        for frame in frames:
            name, file = _frame_key(frame)
            key = f"{name} ({file})"
            if file.startswith(OUTER) or f"{file}:{name}" in OUTER:
                continue
            if key not in seen:
                seen.add(key)
                inclusive[key] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(k, 100.0 * v / total) for k, v in counter.most_common(TOP)] if total else []

    # Frames on (nearly) every stack are the server's outer layers: leave
    # them out, so the list shows which subtrees hold the time.
    for key in [k for k, v in inclusive.items() if total and v / total > ROOT_SHARE]:
        del inclusive[key]

    return {
        "samples": total,
        "seconds": total / RATE,
        "own": share(own),
        "inclusive": share(inclusive),
        "packages": share(packages),
    }
