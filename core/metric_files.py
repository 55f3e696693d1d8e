"""Where a process keeps its metrics when it shares them (core/metrics.py).

Apart from core/metrics.py because prometheus-client reads the variable when
it is imported: the CLI calls `share_between_processes` before anything
imports the metrics."""

from __future__ import annotations

import os
import socket
from pathlib import Path

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def share_between_processes(folder: Path) -> None:
    """Count in `folder`, with every process that uses it."""
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROCESS_VARIABLE] = str(folder.resolve())


def process_identifier() -> str:
    """This process among all that share the folder, also across containers
    (each is pid 1 in its own): host name and pid, with no underscore (the
    client library splits file names on it)."""
    return f"{socket.gethostname().replace('_', '-')}-{os.getpid()}"
