"""Checks on a job before any container is touched (engine-side mistakes)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import get_args

from sandbox import http_sockets
from sandbox.job import SandboxJob, SandboxLanguage
from sandbox.runner import protocol as p

MAX_ENV_BYTES = 256 * 1024  # the env travels in one JSON frame


def job_problem(job: SandboxJob) -> str | None:
    """Why this job cannot run, or None."""
    if job.language not in get_args(SandboxLanguage):
        return f"unknown language {job.language!r}"
    try:
        json.loads(job.input_json.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"input is not valid UTF-8 JSON: {exc}"
    problem = _limits_problem(job) or _volumes_problem(job)
    if problem is None and job.http_socket_dir is not None:
        problem = http_sockets.problem(job.http_socket_dir)
    if problem is not None:
        return problem
    env_bytes = 0
    for key, value in job.env.items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            return f"invalid environment variable name or value: {key!r}"
        env_bytes += len(key.encode()) + len(value.encode())
    if env_bytes > MAX_ENV_BYTES:
        return f"environment is over {MAX_ENV_BYTES} bytes"
    problem = _names_problem(job.files, "input file") or _names_problem(
        job.library, "imported script"
    )
    if problem is not None:
        return problem
    total = len(job.script) + len(job.input_json)
    total += sum(len(data) for _, data in (*job.files, *job.library))
    if total > job.limits.workdir_bytes:
        return f"script, input and files ({total} bytes) exceed the work dir limit"
    return None


def _names_problem(entries: Sequence[tuple[str, bytes]], what: str) -> str | None:
    names: set[str] = set()
    for name, _data in entries:
        clean = p.sanitize_name(name)
        # The runner stores files by their sanitised name: two names that
        # clean to the same file, or a file that is another's directory,
        # cannot both exist.
        parents = {clean.rsplit("/", i)[0] for i in range(1, clean.count("/") + 1)}
        if clean in names or parents & names or any(n.startswith(clean + "/") for n in names):
            return f"{what} name {name!r} clashes with another {what}"
        names.add(clean)
    return None


# Volumes are dependency environments, mounted at one place (sandbox/environments.py).
VOLUME_TARGET = "/opt/scriptbox/env"
_VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def _volumes_problem(job: SandboxJob) -> str | None:
    targets = [volume.target for volume in job.volumes]
    if len(set(targets)) != len(targets):
        return "two volumes share a mount point"
    for volume in job.volumes:
        if volume.target != VOLUME_TARGET:
            return f"volumes may only be mounted at {VOLUME_TARGET}"
        if not _VOLUME_NAME.fullmatch(volume.volume):
            return f"invalid volume name {volume.volume!r}"
    return None


def _limits_problem(job: SandboxJob) -> str | None:
    limits = job.limits
    if not (math.isfinite(limits.timeout_seconds) and limits.timeout_seconds > 0):
        return "timeout_seconds must be a positive number"
    for name in (
        "memory_bytes",
        "nano_cpus",
        "pids",
        "output_bytes_per_stream",
        "result_bytes",
        "workdir_bytes",
        "artifact_max_total_bytes",
    ):
        if getattr(limits, name) <= 0:
            return f"{name} must be positive"
    if limits.artifact_max_count < 0:
        return "artifact_max_count must not be negative"
    if limits.memory_bytes < 6 * 2**20:
        return "memory_bytes must be at least 6 MiB (Docker's minimum)"
    return None
