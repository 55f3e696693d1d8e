"""A run's bundle is capped in scripts and in bytes, and refused before the
run when over either, on SQLite and on PostgreSQL (a served process each,
with small caps)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from harness.postgres import fresh_postgres_database
from tests.support.client import GraphQLClient, user_at
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.tree import script

MAX_SCRIPTS = 2
MAX_BYTES = 1000
RUN = """
mutation($id: ID!) { runScript(input: {scriptId: $id, wait: true}) {
  status result error { code message } stdout bundle { path } } }
"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def capped(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    data_dir: Path = tmp_path_factory.mktemp(f"bundle-caps-{request.param}")
    env = {
        "SCRIPTBOX_MAX_BUNDLE_SCRIPTS": str(MAX_SCRIPTS),
        "SCRIPTBOX_MAX_BUNDLE_BYTES": str(MAX_BYTES),
        "SCRIPTBOX_WARM_POOL_SIZE": "1",
    }
    if request.param == "postgres":
        async with fresh_postgres_database() as url:
            with ServiceProcess(cli_environment(data_dir, **env, SCRIPTBOX_DATABASE_URL=url)) as s:
                yield s.url
        return
    with ServiceProcess(cli_environment(data_dir, **env)) as service:
        yield service.url


@pytest.fixture
async def user(capped: str) -> AsyncIterator[GraphQLClient]:
    async with user_at(capped, "caps") as client:
        yield client


async def run(client: GraphQLClient, content: str, name: str) -> dict[str, Any]:
    saved = await script(client, name, content)
    result: dict[str, Any] = (await client.data(RUN, {"id": saved["id"]}))["runScript"]
    return result


async def test_a_bundle_within_the_caps_runs(user: GraphQLClient) -> None:
    for name in ("a.py", "b.py"):
        await script(user, name, "X = 1\n")
    execution = await run(user, "import a, b\n\ndef main(data):\n    return a.X + b.X\n", "ab.py")
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == 2


async def test_more_scripts_than_the_cap_are_refused(user: GraphQLClient) -> None:
    for name in ("a.py", "b.py", "c.py"):
        await script(user, name, "X = 1\n")
    execution = await run(user, "import a, b, c\nprint('ran')\n", "abc.py")
    assert execution["status"] == "FAILED"
    assert execution["error"]["code"] == "BUNDLE_TOO_LARGE"
    assert str(MAX_SCRIPTS) in execution["error"]["message"]
    assert execution["stdout"] == "" and execution["bundle"] == []


async def test_more_bytes_than_the_cap_are_refused(user: GraphQLClient) -> None:
    await script(user, "big.py", "X = 1\n" + "#" * MAX_BYTES + "\n")
    execution = await run(user, "import big\nprint('ran')\n", "uses_big.py")
    assert execution["status"] == "FAILED"
    assert execution["error"]["code"] == "BUNDLE_TOO_LARGE"
    assert str(MAX_BYTES) in execution["error"]["message"]
    assert execution["stdout"] == ""
