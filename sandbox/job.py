"""What the engine hands the sandbox, and what it gets back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class SandboxLimits:
    timeout_seconds: float = 30.0
    memory_bytes: int = 256 * 2**20
    nano_cpus: int = 1_000_000_000
    pids: int = 128
    output_bytes_per_stream: int = 2**20
    result_bytes: int = 2**20
    workdir_bytes: int = 64 * 2**20
    artifact_max_count: int = 32
    artifact_max_total_bytes: int = 16 * 2**20

    def container_profile(self) -> tuple[int, int, int, int]:
        """The limits fixed when a container is created (the rest travel with the job).

        A warm container can serve a job only when these match.
        """
        return (self.memory_bytes, self.nano_cpus, self.pids, self.workdir_bytes)


@dataclass(frozen=True)
class VolumeMount:
    """A Docker named volume mounted into the job's container (a
    Python dependency environment). Read-only except for the job that builds
    it. Jobs with volumes never take a generic warm container."""

    volume: str
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class SandboxJob:
    execution_id: str
    language: Literal["python", "shell"]
    script: bytes
    input_json: bytes  # UTF-8 JSON text
    files: Sequence[tuple[str, bytes]] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    limits: SandboxLimits = SandboxLimits()
    volumes: Sequence[VolumeMount] = ()


@dataclass(frozen=True)
class OutputChunk:
    stream: Literal["stdout", "stderr"]
    data: str  # decoded text


@dataclass(frozen=True)
class Artifact:
    name: str
    data: bytes


Status = Literal["succeeded", "failed", "timed_out", "cancelled"]


@dataclass
class SandboxOutcome:
    status: Status
    exit_code: int | None
    result_json: str | None  # JSON text of the result, or None
    # SCRIPT_ERROR, NON_ZERO_EXIT, OUT_OF_MEMORY, INVALID_RESULT, RESULT_TOO_LARGE,
    # TIMEOUT, CANCELLED, INVALID_JOB, SANDBOX_ERROR
    error_code: str | None
    error_message: str | None
    stdout_truncated: bool
    stderr_truncated: bool
    artifacts: list[Artifact]
    rejected_artifacts: list[str]  # names refused (symlink, special file, over cap)
    duration_ms: int
