"""Fixtures for the dependency tests: services (local storage, on SQLite and
on PostgreSQL) whose environment volumes carry a namespace of their own, all
removed afterwards.

These tests reach the real package index (PyPI) from the host, as the
service does; the sandbox containers never have a network."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import docker
import pytest

from engine.deps import DependencyManager
from sandbox import deps as sandbox_deps
from tests.support.postgres import fresh_postgres_database
from tests.support.servers import Service, running_service, test_settings

NAMESPACE_VARIABLE = "SCRIPTBOX_DEPS_NAMESPACE"


@contextlib.contextmanager
def volume_namespace(label: str) -> Iterator[str]:
    """A namespace for the volumes of what starts inside; removed at the end."""
    namespace = f"pytest-deps-{label}-{uuid.uuid4().hex[:8]}"
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
def deps_namespace() -> Iterator[str]:
    with volume_namespace("installer") as namespace:
        yield namespace


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    """Overrides the suite's service: local storage, a namespace of its own,
    on both databases (the claims are conditional UPDATEs on each)."""
    data_dir = tmp_path_factory.mktemp(f"service-deps-{request.param}")
    with volume_namespace(request.param):
        if request.param == "postgres":
            async with (
                fresh_postgres_database() as url,
                running_service(test_settings(data_dir, database_url=url)) as running,
            ):
                yield running
            return
        async with running_service(test_settings(data_dir)) as running:
            yield running


@pytest.fixture
def deps(service: Service) -> DependencyManager:
    """The service's dependency manager, for what no client can see."""
    worker = service.services.worker
    assert worker is not None
    return worker.deps
