"""Running user scripts in hardened single-use Docker containers.

The engine uses ``DockerSandbox`` and the data types below; nothing else here
is part of the contract. See sandbox/README.md.
"""

from core.limits import SandboxLimits
from sandbox.config import SandboxConfig, SandboxUnavailable
from sandbox.docker_backend import DockerSandbox
from sandbox.job import Artifact, OutputChunk, SandboxJob, SandboxOutcome, VolumeMount

__all__ = [
    "Artifact",
    "DockerSandbox",
    "OutputChunk",
    "SandboxConfig",
    "SandboxJob",
    "SandboxLimits",
    "SandboxOutcome",
    "SandboxUnavailable",
    "VolumeMount",
]
