"""Running user scripts in hardened single-use Docker containers.

The engine uses ``DockerSandbox`` (runs, and the operations on Python
dependency environments) and the data types below; nothing else here is part
of the contract. See sandbox/README.md.
"""

from core.limits import SandboxLimits
from core.usage import ResourceUsage
from sandbox.config import SandboxConfig, SandboxUnavailable
from sandbox.docker_backend import DockerSandbox
from sandbox.environments import (
    EngineIdentity,
    Installed,
    InstallFailed,
    Runtime,
    Wheel,
    environment_mount,
    environment_variables,
)
from sandbox.job import (
    Artifact,
    OutputChunk,
    SandboxImage,
    SandboxJob,
    SandboxOutcome,
    VolumeMount,
)

__all__ = [
    "Artifact",
    "DockerSandbox",
    "EngineIdentity",
    "InstallFailed",
    "Installed",
    "OutputChunk",
    "ResourceUsage",
    "Runtime",
    "SandboxConfig",
    "SandboxImage",
    "SandboxJob",
    "SandboxLimits",
    "SandboxOutcome",
    "SandboxUnavailable",
    "VolumeMount",
    "Wheel",
    "environment_mount",
    "environment_variables",
]
