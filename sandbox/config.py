"""How a DockerSandbox is set up, and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass

from core.limits import SandboxLimits

BUILD_SCRIPT = "scripts/build-sandbox-image.sh"


@dataclass(frozen=True)
class SandboxConfig:
    image: str = "scriptbox-sandbox:latest"
    docker_host: str | None = None  # None: docker.from_env()
    warm_pool_size: int = 2  # one pool serves both languages: the runner handles both
    owner: str = "default"  # label value identifying this worker, for reaping
    # Frozen, so one shared default instance is safe.
    default_limits: SandboxLimits = SandboxLimits()  # noqa: RUF009
    # Jobs with volumes (dependency environments): warm containers per
    # environment, for this many recently used environments.
    env_pool_size: int = 1
    env_pool_count: int = 4


class SandboxUnavailable(Exception):
    """The Docker engine (or the sandbox image) cannot be used.

    Raised instead of an outcome: it says nothing about the script, so the
    engine should retry or fail the execution as an infrastructure fault.
    """
