"""What one run cost, declared once: the sandbox measures it, the worker
records it on the execution, GraphQL and the statistics read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceUsage:
    """None where the sandbox cannot tell: the container was killed before
    its runner reported, or the run never reached a container."""

    peak_memory_bytes: int | None = None
    cpu_user_seconds: float | None = None
    cpu_system_seconds: float | None = None
    wall_seconds: float | None = None
