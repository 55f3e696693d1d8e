"""What a run cost, in GraphQL: `Execution.resources`."""

from __future__ import annotations

import strawberry

from models.executions import Execution


@strawberry.type(
    name="ResourceUsage",
    description="What one run cost, measured by the kernel for the script's processes "
    "(not the container's idle wait before the run). A field is null where the sandbox "
    "could not tell: a run killed at its timeout or cancelled has its wall time only.",
)
class ResourceUsageType:
    peak_memory_bytes: int | None = strawberry.field(
        description="The largest resident set of the script's process, or of a child "
        "process it waited for."
    )
    cpu_user_seconds: float | None = strawberry.field(
        description="CPU time in user mode of the script and the children it waited for."
    )
    cpu_system_seconds: float | None = strawberry.field(
        description="CPU time in the kernel on their behalf."
    )
    wall_seconds: float | None = strawberry.field(
        description="From the start of the script to its end, inside the container."
    )


def resources_of(row: Execution) -> ResourceUsageType | None:
    """None for a run that never reached a container."""
    measured = (row.peak_memory_bytes, row.cpu_user_seconds, row.cpu_system_seconds)
    if all(value is None for value in measured) and row.wall_seconds is None:
        return None
    return ResourceUsageType(
        peak_memory_bytes=row.peak_memory_bytes,
        cpu_user_seconds=row.cpu_user_seconds,
        cpu_system_seconds=row.cpu_system_seconds,
        wall_seconds=row.wall_seconds,
    )
