"""Fixtures for the dependency tests: one service (local storage) whose
environment volumes carry a namespace of their own, all removed afterwards.

These tests reach the real package index (PyPI) from the host, as the
service does; the sandbox containers never have a network."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import docker
import pytest

from engine.deps import DependencyManager
from sandbox import deps as sandbox_deps
from tests.support.servers import Service, running_service, test_settings

NAMESPACE_VARIABLE = "SCRIPTBOX_DEPS_NAMESPACE"


@pytest.fixture(scope="session")
def deps_namespace() -> Iterator[str]:
    namespace = f"pytest-deps-{uuid.uuid4().hex[:8]}"
    before = os.environ.get(NAMESPACE_VARIABLE)
    os.environ[NAMESPACE_VARIABLE] = namespace
    try:
        yield namespace
    finally:
        if before is None:
            os.environ.pop(NAMESPACE_VARIABLE, None)
        else:
            os.environ[NAMESPACE_VARIABLE] = before
        api = docker.from_env().api
        for name, _hash in sandbox_deps.list_volumes(api, namespace):
            sandbox_deps.remove_volume(api, name)


@pytest.fixture(scope="session")
async def service(
    deps_namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    """Overrides the suite's service: local storage only, our namespace."""
    settings = test_settings(tmp_path_factory.mktemp("service-deps"))
    async with running_service(settings) as running:
        yield running


@pytest.fixture
def deps(service: Service) -> DependencyManager:
    """The service's dependency manager, for what no client can see."""
    worker = service.services.worker
    assert worker is not None
    return worker.deps
