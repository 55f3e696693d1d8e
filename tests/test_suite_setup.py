"""The suite runs as `scriptbox serve` does: on uvloop, and with the
documented default settings whatever SCRIPTBOX_* variables the shell that
runs it has set."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import uvloop

from tests.support import servers


def test_stray_variables_do_not_reach_test_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTBOX_MAX_QUERY_DEPTH", "3")
    monkeypatch.setenv("SCRIPTBOX_EMBEDDED_WORKER", "false")
    settings = servers.test_settings(tmp_path)
    assert settings.max_query_depth == 40
    assert settings.embedded_worker is True


async def test_the_suite_runs_on_uvloop() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
