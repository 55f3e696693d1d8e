"""The suite runs as `scriptbox serve` does: on uvloop, and with the
documented default settings whatever SCRIPTBOX_* variables the shell that
runs it has set, but for one: the package index, which is the suite's own
on 127.0.0.1, and any other a test would configure must be local too."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import uvloop

from tests.support import servers
from tests.support.package_index import is_local_index, suite_index
from tests.support.processes import ServiceProcess, cli_environment


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


def test_services_and_processes_use_the_suites_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTBOX_DEPS_INDEX_URL", "https://pypi.org/simple")
    assert servers.test_settings(tmp_path).deps_index_url == suite_index().url
    assert cli_environment(tmp_path)["SCRIPTBOX_DEPS_INDEX_URL"] == suite_index().url
    assert suite_index().url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    "url", ["file:///tmp/index/simple", "http://127.0.0.1:1/simple", "http://[::1]:8080/simple"]
)
def test_local_indexes_are_taken(tmp_path: Path, url: str) -> None:
    assert is_local_index(url)
    assert servers.test_settings(tmp_path, deps_index_url=url).deps_index_url == url
    env = cli_environment(tmp_path, SCRIPTBOX_DEPS_INDEX_URL=url)
    assert env["SCRIPTBOX_DEPS_INDEX_URL"] == url


@pytest.mark.parametrize(
    "url",
    [
        "https://pypi.org/simple",
        "",  # the service's default: pip's own index
        "http://localhost:8080/simple",  # a name, looked up
        "http://127.0.0.1.example.com/simple",
        "http://10.0.0.1/simple",
        "file://fileserver/share/simple",
        "ftp://127.0.0.1/simple",
    ],
)
def test_an_index_off_this_machine_is_refused(tmp_path: Path, url: str) -> None:
    assert not is_local_index(url)
    with pytest.raises(ValueError, match="not on this machine"):
        servers.test_settings(tmp_path, deps_index_url=url)
    with pytest.raises(ValueError, match="not on this machine"):
        cli_environment(tmp_path, SCRIPTBOX_DEPS_INDEX_URL=url)
    # Also a process whose environment was changed after cli_environment.
    with pytest.raises(ValueError, match="not on this machine"):
        ServiceProcess({**cli_environment(tmp_path), "SCRIPTBOX_DEPS_INDEX_URL": url})


def test_a_process_with_no_index_is_refused(tmp_path: Path) -> None:
    # Without the variable the service would use pip's default index.
    env = cli_environment(tmp_path)
    del env["SCRIPTBOX_DEPS_INDEX_URL"]
    with pytest.raises(ValueError, match="not on this machine"):
        ServiceProcess(env)
