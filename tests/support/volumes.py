"""Docker volumes of dependency environments made by a test service, in a
namespace of their own, removed at the end (the product keeps environments
as a cache after it stops, so a test run must remove what its services made)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import docker

from sandbox import env_volumes

# Of every `scriptbox` process the run starts (cli_environment's default),
# not the product's default namespace, which a real deployment may use.
PROCESSES_NAMESPACE = f"pytest-deps-processes-{os.getpid()}"


@contextlib.contextmanager
def volume_namespace(label: str) -> Iterator[str]:
    """A namespace for the volumes of what starts inside (give it to the
    service as `deps_namespace`); its volumes are removed at the end."""
    namespace = f"pytest-deps-{label}-{uuid.uuid4().hex[:8]}"
    try:
        yield namespace
    finally:
        remove_volumes(namespace)


def remove_volumes(namespace: str) -> None:
    api = docker.from_env().api
    for name, _hash in env_volumes.list_volumes(api, namespace):
        env_volumes.remove_volume(api, name)
