"""Fixtures for the browser and client tests: one headless Chromium for the
session, screenshots kept under test-artifacts/web/."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.chromium import Browser, chromium
from tests.support.paths import REPO

ARTIFACTS = REPO / "test-artifacts" / "web"
STARTED = time.time()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


@pytest.fixture
def artifact_path(request: pytest.FixtureRequest) -> Path:
    """Where this test keeps its screenshot (listed at the end of the run)."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "_")
    return ARTIFACTS / f"{name}.png"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    kept = sorted(p for p in ARTIFACTS.glob("*.png") if p.stat().st_mtime >= STARTED)
    if kept:
        terminalreporter.section("screenshots")
        for path in kept:
            terminalreporter.write_line(str(path))
