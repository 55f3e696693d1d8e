"""Dependency failures with no other test, caused offline: requirements
that conflict (DEPENDENCY_CONFLICT), wheels over
SCRIPTBOX_DEPS_MAX_DOWNLOAD_BYTES (DEPENDENCY_TOO_LARGE), and an index that
does not answer (DEPENDENCY_INDEX_UNAVAILABLE). The run ends FAILED with the
code, and the script shows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.behaviour.conftest import own_service
from tests.behaviour.package_index import index, wheel
from tests.deps.helpers import GET, create, run
from tests.support.client import GraphQLClient, registered
from tests.support.servers import free_port

MAX_DOWNLOAD = 20_000


@asynccontextmanager
async def user_of(data_dir: Path, index_url: str) -> AsyncIterator[GraphQLClient]:
    async with (
        own_service(
            data_dir,
            SCRIPTBOX_DEPS_INDEX_URL=index_url,
            SCRIPTBOX_DEPS_MAX_DOWNLOAD_BYTES=str(MAX_DOWNLOAD),
            SCRIPTBOX_DEPS_NAMESPACE=f"behaviour-{data_dir.name}".lower(),
        ) as served,
        httpx.AsyncClient(timeout=300) as http,
    ):
        yield await registered(GraphQLClient(served.url, None, http), "deps")


async def fails_with(client: GraphQLClient, name: str, requirements: str, code: str) -> str:
    created = await create(client, name, "print('never')\n", requirements=requirements)
    execution = await run(client, created["id"])
    assert (execution["status"], execution["error"]["code"]) == ("FAILED", code), execution
    assert execution["stdout"] == ""
    shown = (await client.data(GET, {"id": created["id"]}))["script"]["dependencies"]
    assert (shown["status"], shown["error"]["code"]) == ("FAILED", code), shown
    return str(execution["error"]["message"])


async def test_conflicting_and_oversized_requirements(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    url = index(
        tmp_path / "index",
        [
            wheel(files, "sbx-left", "1.0", ("sbx-shared==1.0",)),
            wheel(files, "sbx-right", "1.0", ("sbx-shared==2.0",)),
            wheel(files, "sbx-shared", "1.0"),
            wheel(files, "sbx-shared", "2.0"),
            wheel(files, "sbx-big", "1.0", pad=MAX_DOWNLOAD + 1),
        ],
    )
    async with user_of(tmp_path / "data", url) as client:
        both = "sbx-left\nsbx-right\n"
        message = await fails_with(client, "both.py", both, "DEPENDENCY_CONFLICT")
        assert "conflict" in message
        message = await fails_with(client, "big.py", "sbx-big\n", "DEPENDENCY_TOO_LARGE")
        assert str(MAX_DOWNLOAD) in message


async def test_an_index_that_does_not_answer(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}/simple"
    async with user_of(tmp_path, closed) as client:
        await fails_with(client, "offline.py", "sbx-anything\n", "DEPENDENCY_INDEX_UNAVAILABLE")
