"""Sandbox containers by owner (the worker name in their `scriptbox.owner`
label), for tests that kill a worker and must see what it left behind."""

from __future__ import annotations

from typing import Any

import docker

from sandbox.container_spec import owner_filter


def owned_containers(api: docker.APIClient, owner: str) -> list[str]:
    """Ids of the owner's containers, on a client the caller holds."""
    return [c["Id"] for c in api.containers(all=True, filters=owner_filter(owner))]


def owner_containers(owner: str) -> list[dict[str, Any]]:
    client = docker.APIClient()
    try:
        found: list[dict[str, Any]] = client.containers(
            all=True, filters={"label": f"scriptbox.owner={owner}"}
        )
        return found
    finally:
        client.close()


def remove_containers(owner: str) -> None:
    client = docker.APIClient()
    try:
        for container in owner_containers(owner):
            client.remove_container(container["Id"], force=True)
    finally:
        client.close()
