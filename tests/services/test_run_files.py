"""The caps on the files one run takes (SCRIPTBOX_MAX_RUN_FILES and
SCRIPTBOX_MAX_RUN_FILES_BYTES): one over either is refused with
BAD_USER_INPUT before anything is queued; at the cap the run is queued.
Files deleted or replaced while the run waits are checked again when it
starts: it ends INPUT_FILE_ERROR."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.busy_worker import busy_worker, queue, reaches
from tests.support.client import GraphQLClient, user_at
from tests.support.processes import own_service
from tests.support.tree import script

MAX_FILES = 2
MAX_BYTES = 100
UPLOAD = """
mutation($file: Upload!, $prefix: String) { uploadFile(file: $file, prefix: $prefix) { key size } }
"""
RUN = """
mutation($id: ID!, $files: [String!]) {
  runScript(input: {scriptId: $id, files: $files}) { id status } }
"""
EXECUTIONS = "query($id: ID!) { executions(scriptId: $id) { id } }"


@pytest.fixture
async def capped(tmp_path: Path) -> AsyncIterator[GraphQLClient]:
    async with (
        own_service(
            tmp_path,
            SCRIPTBOX_MAX_RUN_FILES=str(MAX_FILES),
            SCRIPTBOX_MAX_RUN_FILES_BYTES=str(MAX_BYTES),
            SCRIPTBOX_WORKER_CONCURRENCY="1",
        ) as running,
        user_at(running.url, "files") as client,
    ):
        yield client


async def upload(client: GraphQLClient, name: str, size: int, prefix: str | None = None) -> str:
    variables = {"file": None, "prefix": prefix}
    response = await client.upload(
        UPLOAD, variables, {"variables.file": (name, b"x" * size, "text/plain")}
    )
    body = response.json()
    assert not body.get("errors"), body
    assert body["data"]["uploadFile"]["size"] == size
    return str(body["data"]["uploadFile"]["key"])


async def refused_and_nothing_queued(
    client: GraphQLClient, script_id: str, keys: list[str], words: str
) -> None:
    error = await client.error(RUN, {"id": script_id, "files": keys})
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert words in error["message"], error
    assert (await client.data(EXECUTIONS, {"id": script_id}))["executions"] == []


async def test_one_file_over_the_count_cap(capped: GraphQLClient) -> None:
    created = await script(capped, "count.py", "print(1)\n")
    keys = [await upload(capped, f"f{n}.txt", 1) for n in range(MAX_FILES + 1)]
    await refused_and_nothing_queued(capped, created["id"], keys, f"at most {MAX_FILES} files")
    queued = await capped.data(RUN, {"id": created["id"], "files": keys[:MAX_FILES]})
    assert queued["runScript"]["status"] in ("QUEUED", "RUNNING", "SUCCEEDED")


async def test_one_byte_over_the_size_cap(capped: GraphQLClient) -> None:
    created = await script(capped, "bytes.py", "print(1)\n")
    half = await upload(capped, "half.txt", MAX_BYTES // 2)
    over = await upload(capped, "over.txt", MAX_BYTES // 2 + 1)
    await refused_and_nothing_queued(
        capped, created["id"], [half, over], f"at most {MAX_BYTES} bytes"
    )
    exact = await upload(capped, "exact.txt", MAX_BYTES // 2)
    queued = await capped.data(RUN, {"id": created["id"], "files": [half, exact]})
    # Exactly at the cap: queued, and the worker's second look lets it run.
    await reaches(capped, queued["runScript"]["id"], "SUCCEEDED", deadline=120)


async def test_two_keys_that_would_share_a_name_in_job_in(capped: GraphQLClient) -> None:
    created = await script(capped, "clash.py", "print(1)\n")
    nested = await upload(capped, "b.txt", 1, prefix="a")
    flat = await upload(capped, "a_b.txt", 1)
    assert (nested, flat) == ("a/b.txt", "a_b.txt")
    await refused_and_nothing_queued(
        capped, created["id"], [nested, flat], "would have the same name in /job/in/"
    )


EXECUTION = "query($id: ID!) { execution(id: $id) { status error { code message } } }"
DELETE = "mutation($key: String!) { deleteFile(key: $key) }"
REPLACE = "mutation($file: Upload!) { uploadFile(file: $file, replace: true) { size } }"


async def ended_with(client: GraphQLClient, execution_id: str) -> tuple[str, str, str]:
    await reaches(client, execution_id, "FAILED", deadline=120)
    execution = (await client.data(EXECUTION, {"id": execution_id}))["execution"]
    return execution["status"], execution["error"]["code"], execution["error"]["message"]


async def test_files_gone_or_grown_while_the_run_waits(capped: GraphQLClient) -> None:
    created = await script(capped, "late.py", "print(1)\n")
    first = await upload(capped, "first.txt", 1)
    second = await upload(capped, "second.txt", 1)
    small = await upload(capped, "small.txt", 1)
    async with busy_worker(capped):
        gone = await queue(capped, created["id"], files=[first, second])
        grown = await queue(capped, created["id"], files=[small])
        for key in (first, second):
            assert (await capped.data(DELETE, {"key": key}))["deleteFile"] is True
        response = await capped.upload(
            REPLACE, {"file": None}, {"variables.file": ("small.txt", b"x" * (MAX_BYTES + 1), "")}
        )
        assert response.json()["data"]["uploadFile"]["size"] == MAX_BYTES + 1
    assert await ended_with(capped, gone) == (
        "FAILED",
        "INPUT_FILE_ERROR",
        f"No file with key '{first}'.",
    )
    assert await ended_with(capped, grown) == (
        "FAILED",
        "INPUT_FILE_ERROR",
        f"The files of one run may total at most {MAX_BYTES} bytes.",
    )
