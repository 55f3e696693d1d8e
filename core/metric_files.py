"""Where a process keeps its metrics when it shares them (core/metrics.py).

Apart from core/metrics.py because prometheus-client reads the variable when
it is imported: the CLI calls `share_between_processes` before anything
imports the metrics."""

from __future__ import annotations

import os
from pathlib import Path

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def share_between_processes(folder: Path) -> None:
    """Count in `folder`, with every process that uses it."""
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROCESS_VARIABLE] = str(folder.resolve())
