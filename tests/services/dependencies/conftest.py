"""Fixtures for the dependency tests. They use the suite's `service` (whose
environment volumes carry a namespace of their own, removed afterwards), on
SQLite and on PostgreSQL.

These tests reach the package index the service is configured with from the
host, as the service does: the suite's index on 127.0.0.1 unless a test
makes its own (tests/support/package_index.py), never the internet; the
sandbox containers never have a network."""

from __future__ import annotations

import pytest

from services.dependencies import DependencyManager
from tests.support.servers import Service


@pytest.fixture
def deps(service: Service) -> DependencyManager:
    """The service's dependency manager, for what no client can see."""
    worker = service.process.worker
    assert worker is not None
    return worker.deps
