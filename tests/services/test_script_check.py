"""Shell scripts in the process users run: `scriptbox serve` runs uvloop,
whose subprocess pipes differ from the default loop's, so the syntax check
of shell scripts is proved here over that process, not in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.client import GraphQLClient, user_at
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.runs import RUN
from tests.support.tree import CREATE_SCRIPT, script


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data_dir: Path = tmp_path_factory.mktemp("shell-served")
    with ServiceProcess(cli_environment(data_dir)) as service:
        yield service


@pytest.fixture
async def user(served: ServiceProcess) -> AsyncIterator[GraphQLClient]:
    async with user_at(served.url, "shell") as client:
        yield client


async def test_a_shell_script_is_created_and_runs(user: GraphQLClient) -> None:
    created = await script(user, "hello.sh", "echo hi\nprintf '%s\\n' \"$((6 * 7))\"\n")
    assert created["language"] == "SHELL"
    ran = await user.data(RUN, {"input": {"scriptId": created["id"], "wait": True}})
    execution = ran["runScript"]
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["stdout"] == "hi\n42\n"


async def test_a_shell_syntax_error_names_its_line(user: GraphQLClient) -> None:
    error = await user.error(
        CREATE_SCRIPT,
        {"input": {"name": "broken.sh", "content": "echo one\necho two\nif true; then\n"}},
    )
    assert error["extensions"]["code"] == "INVALID_SCRIPT", error
    assert error["extensions"]["line"] == 4, error
    assert "syntax error" in error["message"], error
    assert "/dev/stdin" not in error["message"]
