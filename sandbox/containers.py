"""Blocking Docker operations on sandbox containers (call them from threads)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import requests.exceptions

from core.limits import SandboxLimits
from sandbox.config import BUILD_SCRIPT, SandboxUnavailable
from sandbox.container_spec import create_kwargs, owner_filter
from sandbox.job import SandboxImage, VolumeMount

# Errors that mean "the engine cannot be reached or refused", as opposed to a
# fault of the script.
ENGINE_ERRORS: tuple[type[BaseException], ...] = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,
    OSError,
)


@dataclass
class LiveContainer:
    """A started sandbox container with its attached stdio socket."""

    id: str
    sock: socket.socket
    profile: tuple[int, int, int, int]
    image: SandboxImage
    # The SDK's socket wrapper: kept so it is closed with ours, not by GC.
    _attach: Any = field(default=None, repr=False)

    def alive(self) -> bool:
        """True while the runner idles: its stdout is open and silent.

        A peek costs no API call, so a warm container can be checked just
        before it is leased.
        """
        try:
            data = self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True
        except OSError:
            return False
        # Either EOF (the runner is gone) or output from a runner that should
        # be silent until it has a job: not fit to serve one.
        del data
        return False

    def close_socket(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        attach, self._attach = self._attach, None
        if attach is None:
            return
        # The SDK's wrapper, its socket and its HTTP response refer to each
        # other; left to the garbage collector, the descriptor lingers until a
        # cycle collection. Close all three now.
        for closable in (
            getattr(attach, "_response", None),
            attach,
            getattr(attach, "_sock", None),
        ):
            if closable is not None:
                with contextlib.suppress(Exception):
                    closable.close()


def connect(docker_host: str | None) -> docker.APIClient:
    try:
        if docker_host is None:
            return docker.from_env().api
        return docker.APIClient(base_url=docker_host)
    except ENGINE_ERRORS as exc:
        raise SandboxUnavailable(f"cannot reach the Docker engine: {exc}") from exc


def ping(api: docker.APIClient) -> None:
    try:
        api.ping()
    except ENGINE_ERRORS as exc:
        raise SandboxUnavailable(f"the Docker engine does not answer: {exc}") from exc


def check_image(api: docker.APIClient, image: str) -> None:
    try:
        api.inspect_image(image)
    except docker.errors.ImageNotFound:
        raise SandboxUnavailable(
            f"sandbox image {image!r} not found; build it with {BUILD_SCRIPT}"
        ) from None
    except ENGINE_ERRORS as exc:
        raise SandboxUnavailable(f"cannot inspect sandbox image {image!r}: {exc}") from exc


def start_container(
    api: docker.APIClient,
    image: str,
    limits: SandboxLimits,
    owner: str,
    execution_id: str | None,
    volumes: Sequence[VolumeMount] = (),
    http_socket_dir: str | None = None,
) -> LiveContainer:
    """Create, attach and start one container; its runner then idles on stdin.

    Created from the image id the reference names now, so what the run
    records as its image is exactly what it ran, even when the tag moves
    while the container waits in a pool.
    """
    try:
        image_id: str = api.inspect_image(image)["Id"]
        created = api.create_container(
            **create_kwargs(api, image_id, limits, owner, execution_id, volumes, http_socket_dir)
        )
    except ENGINE_ERRORS as exc:
        raise SandboxUnavailable(f"cannot create a sandbox container: {exc}") from exc
    container_id: str = created["Id"]
    try:
        # Attach before start: the log driver is "none", so anything written
        # before an attach would be lost, and the attach is the only channel.
        attach = api.attach_socket(
            container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        raw = attach._sock if hasattr(attach, "_sock") else attach
        if not isinstance(raw, socket.socket) or hasattr(raw, "getpeercert"):
            raise SandboxUnavailable(
                "the sandbox needs a unix or plain TCP Docker host (not TLS or ssh)"
            )
        # Our own descriptor: the SDK's response object may close its socket
        # when garbage-collected, and the stream must outlive it.
        sock = raw.dup()
        sock.setblocking(False)
        api.start(container_id)
    except BaseException as exc:
        remove(api, container_id)
        if isinstance(exc, SandboxUnavailable):
            raise
        if isinstance(exc, ENGINE_ERRORS):
            raise SandboxUnavailable(f"cannot start a sandbox container: {exc}") from exc
        raise
    return LiveContainer(
        container_id, sock, limits.container_profile(), SandboxImage(image, image_id), attach
    )


def kill(api: docker.APIClient, container_id: str) -> None:
    with contextlib.suppress(*ENGINE_ERRORS):
        api.kill(container_id)


# The uid the script runs as (sandbox/runner/identity.py). Its kill(-1)
# reaches the script's processes only: the runner and docker-init keep root
# as their real and saved uid, out of its reach.
SCRIPT_USER = "10001:10001"


def terminate_script(api: docker.APIClient, container_id: str) -> None:
    """SIGTERM every process of the script, as the script's own user."""
    with contextlib.suppress(*ENGINE_ERRORS):
        run = api.exec_create(container_id, ["/bin/sh", "-c", "kill -TERM -1"], user=SCRIPT_USER)
        api.exec_start(run["Id"])


USAGE_ERRORS: tuple[type[BaseException], ...] = (*ENGINE_ERRORS, KeyError, TypeError, ValueError)


def usage_now(api: docker.APIClient, container_id: str) -> tuple[int, float, float] | None:
    """(memory bytes, user CPU seconds, system CPU seconds) of a container
    now; None when the engine cannot tell (it is gone)."""
    try:
        stats: dict[str, Any] = api.stats(container_id, stream=False, one_shot=True)
        memory = int(stats["memory_stats"]["usage"])
        cpu = stats["cpu_stats"]["cpu_usage"]
        return memory, cpu["usage_in_usermode"] / 1e9, cpu["usage_in_kernelmode"] / 1e9
    except USAGE_ERRORS:
        return None


def remove(api: docker.APIClient, container_id: str) -> bool:
    """Kill and remove; True when a container was removed."""
    try:
        api.remove_container(container_id, force=True)
        return True
    except docker.errors.NotFound:
        return False
    except ENGINE_ERRORS:
        # Left for the next reap (by label) to clean up.
        return False


def inspect_state(api: docker.APIClient, container_id: str) -> dict[str, Any]:
    try:
        state: dict[str, Any] = api.inspect_container(container_id)["State"]
        return state
    except ENGINE_ERRORS as exc:
        raise SandboxUnavailable(f"cannot inspect sandbox container: {exc}") from exc


def list_owned(api: docker.APIClient, owner: str) -> list[str]:
    try:
        found = api.containers(all=True, quiet=True, filters=owner_filter(owner))
    except ENGINE_ERRORS as exc:
        raise SandboxUnavailable(f"cannot list sandbox containers: {exc}") from exc
    return [c["Id"] for c in found]
