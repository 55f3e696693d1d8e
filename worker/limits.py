"""The sandbox limits of one run, from the service settings."""

from __future__ import annotations

from core.settings import Settings
from sandbox import SandboxLimits


def default_limits(settings: Settings, timeout_seconds: float | None = None) -> SandboxLimits:
    return SandboxLimits(
        timeout_seconds=timeout_seconds or settings.default_timeout_seconds,
        memory_bytes=settings.sandbox_memory_bytes,
        nano_cpus=settings.sandbox_nano_cpus,
        pids=settings.sandbox_pids,
        output_bytes_per_stream=settings.sandbox_output_bytes,
        result_bytes=settings.sandbox_result_bytes,
        workdir_bytes=settings.sandbox_workdir_bytes,
    )
