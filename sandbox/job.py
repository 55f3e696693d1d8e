"""What the engine hands the sandbox, and what it gets back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from core.codes import ExecutionErrorCode
from core.limits import SandboxLimits
from core.statuses import ExecutionStatus
from core.usage import ResourceUsage


@dataclass(frozen=True)
class VolumeMount:
    """A Docker named volume mounted into the job's container (a
    Python dependency environment). Read-only except for the job that builds
    it. Jobs with volumes never take a generic warm container."""

    volume: str
    target: str
    read_only: bool = True


# The languages the runner knows (sandbox/runner/job.py), in its own words.
SandboxLanguage = Literal["python", "shell", "javascript"]


@dataclass(frozen=True)
class SandboxJob:
    execution_id: str
    language: SandboxLanguage
    script: bytes
    input_json: bytes  # UTF-8 JSON text
    files: Sequence[tuple[str, bytes]] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    limits: SandboxLimits = SandboxLimits()  # noqa: RUF009 (frozen: one shared default is safe)
    volumes: Sequence[VolumeMount] = ()
    # The scripts the job imports, by their paths in the owner's tree; the
    # runner puts them under $SCRIPTBOX_LIB, read-only.
    library: Sequence[tuple[str, bytes]] = ()
    # Folders of that tree Python searches first, in order ('' = the top).
    import_path: Sequence[str] = ()
    # The script's own path in that tree, when it runs from there among
    # them (JavaScript resolves imports from the importing file); '' : it
    # runs from the job's top, as without imports.
    main_path: str = ""
    # A service started with `http: true`: the host directory shared with the
    # container for its HTTP socket (services/service_sockets.py).
    http_socket_dir: str | None = None


@dataclass(frozen=True)
class OutputChunk:
    stream: Literal["stdout", "stderr"]
    data: str  # decoded text


@dataclass(frozen=True)
class Artifact:
    name: str
    data: bytes


@dataclass(frozen=True)
class SandboxImage:
    """The image a run's container was created from: the configured
    reference, and the image id it resolved to at that moment (a tag such
    as `latest` moves; the id says exactly what ran)."""

    reference: str
    id: str


# The statuses the runner may report, in its own words (sandbox/runner/ cannot
# import core); docker_backend.py maps them into an ExecutionStatus.
Status = Literal["succeeded", "failed", "timed_out", "cancelled"]


@dataclass
class SandboxOutcome:
    status: ExecutionStatus  # a terminal one
    exit_code: int | None
    result_json: str | None  # JSON text of the result, or None
    # SCRIPT_ERROR, NON_ZERO_EXIT, OUT_OF_MEMORY, INVALID_RESULT, RESULT_TOO_LARGE,
    # TIMEOUT, CANCELLED, INVALID_JOB, SANDBOX_ERROR; None when it succeeded
    error_code: ExecutionErrorCode | None
    error_message: str | None
    stdout_truncated: bool
    stderr_truncated: bool
    artifacts: list[Artifact]
    rejected_artifacts: list[str]  # names refused (symlink, special file, over cap)
    duration_ms: int
    usage: ResourceUsage = field(default_factory=ResourceUsage)
    image: SandboxImage | None = None  # None: no container was used
