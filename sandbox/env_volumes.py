"""Blocking Docker calls on dependency-environment volumes, and the identity
of the engine that holds them (call them from threads, as DockerSandbox does).

Every environment volume is labelled: that it is one, the environment it was
made for, and the deployment's namespace, so a clean-up lists only its own.
"""

from __future__ import annotations

from typing import Any

import docker
import docker.errors

from sandbox.containers import ENGINE_ERRORS

LABEL_ENV = "scriptbox.env"
LABEL_ENV_HASH = "scriptbox.env.hash"
LABEL_NAMESPACE = "scriptbox.env.namespace"


def engine_identity(api: docker.APIClient) -> tuple[str, str]:
    """(engine id, architecture): environments live on one engine."""
    info: dict[str, Any] = api.info()
    return str(info.get("ID") or info.get("Name") or "engine"), str(info["Architecture"])


def create_volume(api: docker.APIClient, name: str, env_hash: str, namespace: str) -> None:
    api.create_volume(
        name=name,
        driver="local",
        labels={LABEL_ENV: "1", LABEL_ENV_HASH: env_hash, LABEL_NAMESPACE: namespace},
    )


def volume_ready(api: docker.APIClient, name: str, env_hash: str) -> bool:
    """The volume exists and was made by us for this environment.

    Docker creates a missing named volume, empty, when a container mounts
    it: never mount one that is not there.
    """
    try:
        labels = api.inspect_volume(name).get("Labels") or {}
    except docker.errors.NotFound:
        return False
    return bool(labels.get(LABEL_ENV_HASH) == env_hash)


def remove_volume(api: docker.APIClient, name: str) -> bool:
    """True when the volume is gone; False when it is in use (or the engine balks)."""
    try:
        api.remove_volume(name, force=True)
        return True
    except docker.errors.NotFound:
        return True
    except ENGINE_ERRORS:
        return False


def list_volumes(api: docker.APIClient, namespace: str) -> list[tuple[str, str]]:
    """(name, env hash) of every environment volume of a namespace."""
    found = api.volumes(filters={"label": [f"{LABEL_ENV}=1", f"{LABEL_NAMESPACE}={namespace}"]})
    return [
        (v["Name"], (v.get("Labels") or {}).get(LABEL_ENV_HASH, ""))
        for v in (found or {}).get("Volumes") or []
    ]
