"""The limits of one run, declared once with their defaults.

The settings (core/settings.py) take their defaults from here, the worker
turns the settings into the limits of each run, the sandbox enforces them on
the host and sends them to the runner, which enforces them again inside.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 2**20

# The most memory one run may have: a run reports its peak memory as a
# GraphQL Int, which is 32 bits (the spec's), so a larger peak could not be
# answered. Far above what one single-use sandbox should need.
MAX_MEMORY_BYTES = 2**31 - 1


@dataclass(frozen=True)
class SandboxLimits:
    timeout_seconds: float = 30.0
    memory_bytes: int = 256 * MiB
    nano_cpus: int = 1_000_000_000
    pids: int = 128
    output_bytes_per_stream: int = 1 * MiB
    result_bytes: int = 1 * MiB
    workdir_bytes: int = 64 * MiB
    artifact_max_count: int = 32
    artifact_max_total_bytes: int = 16 * MiB

    def container_profile(self) -> tuple[int, int, int, int]:
        """The limits fixed when a container is created (the rest travel with the job).

        A warm container can serve a job only when these match.
        """
        return (self.memory_bytes, self.nano_cpus, self.pids, self.workdir_bytes)
