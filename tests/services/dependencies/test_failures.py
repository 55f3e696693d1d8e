"""Dependency failures with no other test, caused offline: requirements
that conflict (DEPENDENCY_CONFLICT), wheels over
SCRIPTBOX_DEPS_MAX_DOWNLOAD_BYTES (DEPENDENCY_TOO_LARGE), an index that
refuses connections (DEPENDENCY_INDEX_UNAVAILABLE) or never answers past
SCRIPTBOX_DEPS_RESOLVE_TIMEOUT_SECONDS (DEPENDENCY_TIMEOUT), a wheel the
sandbox's installer refuses (DEPENDENCY_INSTALL_FAILED), and declarations
that became too many between queueing and running (DEPENDENCY_INVALID). The
run ends FAILED with the code, and the script shows it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.support.busy_worker import busy_worker, queue, reaches
from tests.support.client import GraphQLClient, registered
from tests.support.dependencies import GET, UPDATE, create, pep723, run
from tests.support.package_index import index, sdist, wheel
from tests.support.processes import own_service
from tests.support.servers import free_port

MAX_DOWNLOAD = 20_000
RESOLVE_TIMEOUT = 3
GET_EXECUTION = "query($id: ID!) { execution(id: $id) { status error { code message } } }"


@asynccontextmanager
async def user_of(data_dir: Path, index_url: str, **settings: str) -> AsyncIterator[GraphQLClient]:
    async with (
        own_service(
            data_dir,
            SCRIPTBOX_DEPS_INDEX_URL=index_url,
            SCRIPTBOX_DEPS_MAX_DOWNLOAD_BYTES=str(MAX_DOWNLOAD),
            **settings,
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


async def test_a_wheel_that_cannot_be_installed(tmp_path: Path) -> None:
    # pip reads only the metadata, so it accepts the wheel; the installer
    # in the sandbox refuses a member that would land outside the environment.
    files = tmp_path / "files"
    files.mkdir()
    url = index(tmp_path / "index", [wheel(files, "sbx-escape", "1.0", members=("../up.py",))])
    async with user_of(tmp_path / "data", url) as client:
        message = await fails_with(client, "escape.py", "sbx-escape\n", "DEPENDENCY_INSTALL_FAILED")
        assert "unsafe member name '../up.py'" in message


async def test_an_index_that_never_answers(tmp_path: Path) -> None:
    # A socket that listens but never accepts: the connection is made (the
    # kernel completes it), the request is sent, and no answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        settings = {"SCRIPTBOX_DEPS_RESOLVE_TIMEOUT_SECONDS": str(RESOLVE_TIMEOUT)}
        async with user_of(tmp_path, f"http://127.0.0.1:{port}/simple", **settings) as client:
            message = await fails_with(client, "silent.py", "sbx-anything\n", "DEPENDENCY_TIMEOUT")
    assert f"longer than {RESOLVE_TIMEOUT} s" in message


async def test_requirements_changed_while_a_run_waits(tmp_path: Path) -> None:
    # Requirements belong to the script, content to its versions: a run
    # queued at version 1 and started after an edit declares version 1's
    # inline dependencies plus the edited requirements, which may be more
    # than one script may declare (each save alone was within the limit).
    inline = [f"sbx-inline-{i}" for i in range(40)]
    listed = [f"sbx-listed-{i}" for i in range(40)]
    closed = f"http://127.0.0.1:{free_port()}/simple"
    async with user_of(tmp_path, closed, SCRIPTBOX_WORKER_CONCURRENCY="1") as client:
        created = await create(client, "edited.py", pep723(*inline, body="print('never')\n"))
        async with busy_worker(client):
            queued = await queue(client, created["id"])
            edit = {"content": "print('never')\n", "requirements": "\n".join(listed) + "\n"}
            await client.data(UPDATE, {"id": created["id"], "input": edit})
        await reaches(client, queued, "FAILED", deadline=120)
        execution = (await client.data(GET_EXECUTION, {"id": queued}))["execution"]
    assert execution["error"]["code"] == "DEPENDENCY_INVALID", execution
    assert "at most 64 requirements" in execution["error"]["message"]


async def test_an_index_on_disk_tells_no_wheel_from_no_project(tmp_path: Path) -> None:
    """An operator's mirror may be a folder (file://): a project with only a
    source distribution is DEPENDENCY_NO_WHEEL there too, not NOT_FOUND."""
    files = tmp_path / "files"
    files.mkdir()
    url = index(tmp_path / "index", [sdist(files, "sbx-source", "1.0", {"sbx_source.py": ""})])
    assert url.startswith("file:")
    async with user_of(tmp_path / "data", url) as client:
        await fails_with(client, "source.py", "sbx-source\n", "DEPENDENCY_NO_WHEEL")
        await fails_with(client, "none.py", "sbx-nowhere\n", "DEPENDENCY_NOT_FOUND")
