"""Python dependency environments on the sandbox side: what one is, and the
job that fills one.

An environment is a Docker named volume holding ``site/`` (the installed
wheels, byte-compiled) and ``manifest.json`` (written last). It is built by
one sandbox job: the installer (``env_installer.py``, stdlib only) as the
script, the wheels as the job's input files over the framed stdio stream,
the volume mounted read-write at ``ENV_DIR``. Runs mount it read-only there
and get ``PYTHONPATH=<ENV_DIR>/site``. Nothing here touches the network or a
host path: the host downloads wheels elsewhere (services/dependencies/) and
never reads the volume back.

The engine operations on environments (their volumes, the engine's identity,
running the install job) are methods of ``DockerSandbox``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.limits import SandboxLimits
from sandbox.job import SandboxJob, SandboxOutcome, VolumeMount
from sandbox.job_checks import VOLUME_TARGET

ENV_DIR = VOLUME_TARGET
SITE_DIR = f"{ENV_DIR}/site"
# Bump when the installer's output changes: environments are keyed by it.
INSTALLER_VERSION = 1
INSTALLER_SOURCE = Path(__file__).with_name("env_installer.py")


@dataclass(frozen=True)
class Runtime:
    """The sandbox image's interpreter and platform: what wheels must fit.

    Debian bookworm: CPython 3.11, glibc 2.36.
    """

    arch: str = "x86_64"
    python: tuple[int, int] = (3, 11)
    glibc: tuple[int, int] = (2, 36)

    @property
    def python_version(self) -> str:
        return f"{self.python[0]}.{self.python[1]}"

    @property
    def abi(self) -> str:
        return f"cp{self.python[0]}{self.python[1]}"

    @property
    def tag(self) -> str:
        """Part of every environment's key."""
        glibc = f"{self.glibc[0]}.{self.glibc[1]}"
        return f"{self.abi}-glibc{glibc}-{self.arch}-installer{INSTALLER_VERSION}"

    def platforms(self) -> list[str]:
        """Every platform tag a wheel may carry to run here, newest first."""
        major, minor = self.glibc
        tags = [f"manylinux_{major}_{m}_{self.arch}" for m in range(minor, 4, -1)]
        if self.arch in ("x86_64", "i686"):
            tags += [f"manylinux2014_{self.arch}", f"manylinux2010_{self.arch}"]
            tags += [f"manylinux1_{self.arch}"]
        elif minor >= 17:
            tags.append(f"manylinux2014_{self.arch}")
        tags.append(f"linux_{self.arch}")
        return tags

    def abis(self) -> list[str]:
        return [self.abi, "abi3", "none"]


def runtime_for(arch: str) -> Runtime:
    """The runtime for a Docker engine's ``Architecture`` (uname -m)."""
    aliases = {"amd64": "x86_64", "arm64": "aarch64"}
    return Runtime(arch=aliases.get(arch, arch))


@dataclass(frozen=True)
class EngineIdentity:
    """The engine that holds environments (they live on one engine only) and
    the runtime its sandbox containers offer."""

    engine_id: str
    runtime: Runtime


@dataclass(frozen=True)
class Wheel:
    file: str
    sha256: str
    data: bytes


@dataclass(frozen=True)
class Installed:
    bytes: int
    files: int


class InstallFailed(Exception):
    """The installer refused the wheels or broke: nothing to retry as is."""


def environment_mount(volume: str) -> VolumeMount:
    """How a run mounts a ready environment: read-only."""
    return VolumeMount(volume, ENV_DIR, read_only=True)


def environment_variables() -> dict[str, str]:
    """Variables for a run that uses an environment."""
    return {"PYTHONPATH": SITE_DIR}


def install_job(
    env_hash: str,
    volume: str,
    wheels: list[Wheel],
    max_bytes: int,
    max_files: int,
    timeout_seconds: float,
) -> SandboxJob:
    """The one job that fills a fresh, empty volume."""
    total = sum(len(w.data) for w in wheels)
    mib = 2**20
    limits = SandboxLimits(
        timeout_seconds=timeout_seconds,
        # The wheels sit in the tmpfs, which counts as memory.
        memory_bytes=256 * mib + total,
        pids=32,
        # Also the largest single file (RLIMIT_FSIZE), in the volume too.
        workdir_bytes=max(64 * mib, total + 16 * mib, min(max_bytes, 1024 * mib)),
        output_bytes_per_stream=64 * 1024,
        result_bytes=4096,
        artifact_max_count=0,
    )
    job_input = {
        "hash": env_hash,
        "wheels": [{"file": w.file, "sha256": w.sha256} for w in wheels],
        "max_bytes": max_bytes,
        "max_files": max_files,
    }
    return SandboxJob(
        execution_id=f"deps-{env_hash[:16]}",
        language="python",
        script=INSTALLER_SOURCE.read_bytes(),
        input_json=json.dumps(job_input).encode(),
        files=[(w.file, w.data) for w in wheels],
        env={"SCRIPTBOX_ENV_DIR": ENV_DIR},
        limits=limits,
        volumes=[VolumeMount(volume, ENV_DIR, read_only=False)],
    )


def installed(outcome: SandboxOutcome, env_hash: str, stderr: str) -> Installed:
    """What the install job reported, or InstallFailed."""
    if outcome.status != "succeeded" or outcome.result_json is None:
        detail = stderr.strip()[-2000:] or outcome.error_message or outcome.status
        raise InstallFailed(f"installing the wheels failed: {detail}")
    try:
        result = json.loads(outcome.result_json)
        if not isinstance(result, dict) or result.get("hash") != env_hash:
            raise InstallFailed("the installer reported another environment")
        return Installed(bytes=int(result["bytes"]), files=int(result["files"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InstallFailed(f"the installer's report is unreadable: {exc}") from None
