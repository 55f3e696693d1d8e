"""The caps on the files one run takes (SCRIPTBOX_MAX_RUN_FILES and
SCRIPTBOX_MAX_RUN_FILES_BYTES): one over either is refused with
BAD_USER_INPUT before anything is queued; at the cap the run is queued."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.client import GraphQLClient, user_at
from tests.support.processes import own_service
from tests.support.tree import script

MAX_FILES = 2
MAX_BYTES = 100
UPLOAD = """
mutation($file: Upload!) { uploadFile(file: $file) { key size } }
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
        ) as running,
        user_at(running.url, "files") as client,
    ):
        yield client


async def upload(client: GraphQLClient, name: str, size: int) -> str:
    variables = {"file": None}
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
    assert queued["runScript"]["status"] in ("QUEUED", "RUNNING", "SUCCEEDED")
