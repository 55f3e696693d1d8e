"""Fixtures for the dependency tests. They use the suite's `service` (whose
environment volumes carry a namespace of their own, removed afterwards), on
SQLite and on PostgreSQL.

These tests reach the real package index (PyPI) from the host, as the
service does; the sandbox containers never have a network."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.dependencies import DependencyManager
from tests.support.servers import Service
from tests.support.volumes import volume_namespace


@pytest.fixture(scope="session")
def deps_namespace() -> Iterator[str]:
    with volume_namespace("installer") as namespace:
        yield namespace


@pytest.fixture
def deps(service: Service) -> DependencyManager:
    """The service's dependency manager, for what no client can see."""
    worker = service.process.worker
    assert worker is not None
    return worker.deps
