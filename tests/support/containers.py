"""Sandbox containers by owner (the worker name in their `scriptbox.owner`
label), for tests that kill a worker and must see what it left behind."""

from __future__ import annotations

from typing import Any

import docker

from sandbox.container_spec import LABEL_OWNER, owner_filter


def owned_containers(api: docker.APIClient, owner: str) -> list[str]:
    """Ids of the owner's containers, on a client the caller holds."""
    return [c["Id"] for c in api.containers(all=True, filters=owner_filter(owner))]


def labelled_containers(label: str, value: str) -> list[dict[str, Any]]:
    """Every container, running or not, whose `label` is `value` (the
    low-level list: no per-container inspect that races with removal)."""
    client = docker.APIClient()
    try:
        found: list[dict[str, Any]] = client.containers(
            all=True, filters={"label": f"{label}={value}"}
        )
        return found
    finally:
        client.close()


def owner_containers(owner: str) -> list[dict[str, Any]]:
    return labelled_containers(LABEL_OWNER, owner)


def remove_containers(owner: str) -> None:
    client = docker.APIClient()
    try:
        for container in owner_containers(owner):
            client.remove_container(container["Id"], force=True)
    finally:
        client.close()
