"""What a sandbox test's run gave: the outcome and every output chunk with
the time it came (the `run_script` fixture in tests/sandbox/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sandbox import OutputChunk, SandboxOutcome


@dataclass
class Run:
    outcome: SandboxOutcome
    chunks: list[tuple[float, OutputChunk]] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def stdout(self) -> str:
        return "".join(c.data for _, c in self.chunks if c.stream == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(c.data for _, c in self.chunks if c.stream == "stderr")


RunScript = Callable[..., Coroutine[Any, Any, Run]]
