"""The one place that says how a sandbox container is created.

Every container gets the same hardening; only the resource numbers vary with
the job's limits. Never privileged, no docker socket, and one bind mount
only: an http service's socket directory, which the script cannot write
(see ``sandbox/http_sockets.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import docker
from docker.types import LogConfig, Mount, Ulimit

from core.limits import SandboxLimits
from sandbox.job import VolumeMount
from sandbox.runner.http_bridge import SOCKET_DIR as HTTP_SOCKET_DIR
from sandbox.runner.identity import SANDBOX_UID

# The runner's two capabilities, only to keep its real uid apart from the
# script's (runner_identity); the script's processes hold none.
RUNNER_CAPABILITIES = ["SETUID", "SETGID"]
LABEL_SANDBOX = "scriptbox.sandbox"
LABEL_OWNER = "scriptbox.owner"
LABEL_EXECUTION = "scriptbox.execution"
NOFILE = 1024


def labels(owner: str, execution_id: str | None) -> dict[str, str]:
    found = {LABEL_SANDBOX: "1", LABEL_OWNER: owner}
    if execution_id is not None:
        # Only containers made for a known job carry it: warm-pool containers
        # are created before anyone knows which execution they will serve.
        found[LABEL_EXECUTION] = execution_id
    return found


def owner_filter(owner: str) -> dict[str, list[str]]:
    return {"label": [f"{LABEL_SANDBOX}=1", f"{LABEL_OWNER}={owner}"]}


def create_kwargs(
    api: docker.APIClient,
    image: str,
    limits: SandboxLimits,
    owner: str,
    execution_id: str | None,
    volumes: Sequence[VolumeMount] = (),
    http_socket_dir: str | None = None,
) -> dict[str, Any]:
    """Arguments for ``APIClient.create_container``."""
    workdir = limits.workdir_bytes
    host_config = api.create_host_config(
        network_mode="none",
        read_only=True,
        # The job's whole writable world. nosuid/nodev as Docker's own tmpfs
        # default; uid/gid so the runner (effective uid SANDBOX_UID) and the
        # script own /job.
        tmpfs={
            "/job": f"size={workdir},mode=0755,uid={SANDBOX_UID},gid={SANDBOX_UID},nosuid,nodev",
            "/tmp": f"size={workdir},mode=1777,nosuid,nodev",
        },
        cap_drop=["ALL"],
        cap_add=RUNNER_CAPABILITIES,
        security_opt=["no-new-privileges"],
        privileged=False,
        pids_limit=limits.pids,
        # Equal limits: no swap, so a memory bomb meets the OOM killer at once.
        mem_limit=limits.memory_bytes,
        memswap_limit=limits.memory_bytes,
        nano_cpus=limits.nano_cpus,
        ulimits=[
            Ulimit(name="nofile", soft=NOFILE, hard=NOFILE),
            # No single file can outgrow the work dir.
            Ulimit(name="fsize", soft=workdir, hard=workdir),
            Ulimit(name="core", soft=0, hard=0),
        ],
        init=True,  # docker-init reaps orphans and forwards signals
        ipc_mode="private",
        shm_size=workdir,  # /dev/shm is writable too: same cap as the other tmpfs
        # Untrusted output must not land in json-file logs on the host disk.
        log_config=LogConfig(type="none"),
        auto_remove=False,  # removed explicitly, after the outcome is read
        mounts=_mounts(volumes, http_socket_dir) or None,
    )
    return {
        "image": image,
        # Root with only RUNNER_CAPABILITIES: the runner sets its effective
        # uid to SANDBOX_UID before it reads a job and runs the script as
        # SANDBOX_UID; docker-init stays root, out of the script's reach.
        "user": "0:0",
        # The runner idles reading stdin; StdinOnce (set by docker-py when
        # stdin_open and not detach) closes its stdin when the host's attach
        # connection goes away, so an orphaned runner exits by itself.
        "stdin_open": True,
        "tty": False,
        "detach": False,
        "network_disabled": True,
        "labels": labels(owner, execution_id),
        "host_config": host_config,
    }


def _mounts(volumes: Sequence[VolumeMount], http_socket_dir: str | None) -> list[Mount]:
    # Named volumes (dependency environments), and the one host path: an
    # http service's socket directory. Docker takes no nosuid/nodev/noexec
    # for a bind mount; none is needed: the script cannot write there, no
    # capability lets it make a device, and no-new-privileges makes a
    # set-uid file powerless.
    mounts = [Mount(v.target, v.volume, type="volume", read_only=v.read_only) for v in volumes]
    if http_socket_dir is not None:
        mounts.append(Mount(HTTP_SOCKET_DIR, http_socket_dir, type="bind", read_only=False))
    return mounts
