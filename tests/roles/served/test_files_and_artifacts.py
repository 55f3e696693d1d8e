"""Files in (GraphQL multipart upload), a run that reads them and writes
artifacts, and both downloads (/files/..., /artifacts/...), against the
served process in both shapes."""

from __future__ import annotations

import hashlib

from tests.services.test_files import UPLOAD, download
from tests.support.client import GraphQLClient
from tests.support.runs import RUN
from tests.support.tree import script


async def upload(client: GraphQLClient, name: str, data: bytes, prefix: str) -> dict[str, str]:
    response = await client.upload(
        UPLOAD,
        {"file": None, "prefix": prefix},
        {"variables.file": (name, data, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    uploaded: dict[str, str] = body["data"]["uploadFile"]
    return uploaded


async def test_upload_then_download(alice: GraphQLClient, bob: GraphQLClient) -> None:
    data = b"depth,value\n1,2\n" * 500
    uploaded = await upload(alice, "cores.csv", data, prefix="surveys")
    assert uploaded["key"] == "surveys/cores.csv"
    assert uploaded["sha256"] == hashlib.sha256(data).hexdigest()
    got = await download(alice, uploaded["downloadUrl"])
    assert (got.status_code, got.content) == (200, data)
    denied = await bob.http.get(f"{bob.base_url}/files/surveys/cores.csv", headers=bob.headers())
    assert denied.status_code == 404


async def test_run_with_files_writes_artifacts(alice: GraphQLClient) -> None:
    await upload(alice, "numbers.txt", b"1\n2\n3\n", prefix="in")
    created = await script(
        alice,
        "summer.py",
        "import os\n"
        "def main(data):\n"
        "    numbers = [int(x) for x in open('/job/in/in_numbers.txt').read().split()]\n"
        "    os.makedirs('/job/out', exist_ok=True)\n"
        "    open('/job/out/sum.txt', 'w').write(str(sum(numbers)))\n"
        "    return sum(numbers)\n",
    )
    query = RUN.replace("cursor", "cursor inputFiles artifacts { name key downloadUrl }")
    done = (
        await alice.data(
            query,
            {"input": {"scriptId": created["id"], "files": ["in/numbers.txt"], "wait": True}},
        )
    )["runScript"]
    assert done["status"] == "SUCCEEDED", done
    assert (done["result"], done["inputFiles"]) == (6, ["in/numbers.txt"])
    [artifact] = done["artifacts"]
    assert artifact["key"] == f"{done['id']}/sum.txt"
    got = await download(alice, artifact["downloadUrl"])
    assert (got.status_code, got.content) == (200, b"6")


async def test_a_file_argument_that_is_no_file_is_refused(alice: GraphQLClient) -> None:
    # The Upload scalar takes any literal; a string where a file part belongs
    # is the client's mistake (found by tests/graphql_api/test_schema_fuzz.py).
    target = await script(alice, "target.py", "def main(data):\n    return 1\n")
    for document in (
        'mutation { uploadFile(file: "x", prefix: "p") { key } }',
        'mutation { createScript(input: {name: "a.py", file: "x"}) { id } }',
        "mutation($id: ID!) { updateScript(id: $id, input: {file: 3}) { id } }",
    ):
        error = await alice.error(document, {"id": target["id"]})
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (document, error)
