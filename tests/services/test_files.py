"""Files and artifacts through GraphQL multipart and HTTP, on both storage backends."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from roles.parts import storage_config
from storage import create_object_store
from tests.support.client import GraphQLClient
from tests.support.runs import RUN
from tests.support.servers import Service
from tests.support.tree import script

UPLOAD = """
mutation($file: Upload!, $prefix: String, $replace: Boolean! = false) {
  uploadFile(file: $file, prefix: $prefix, replace: $replace) {
    key size contentType sha256 downloadUrl createdAt }
}
"""
FILES = "query($p: String) { files(prefix: $p) { key size } }"


async def upload(
    client: GraphQLClient, name: str, data: bytes, prefix: str | None = None, **extra: Any
) -> dict[str, Any]:
    response = await client.upload(
        UPLOAD,
        {"file": None, "prefix": prefix, **extra},
        {"variables.file": (name, data, "application/octet-stream")},
    )
    body: dict[str, Any] = response.json()
    return body


async def download(client: GraphQLClient, url: str) -> httpx.Response:
    if url.startswith("/"):
        return await client.http.get(client.base_url + url, headers=client.headers())
    return await client.http.get(url)  # presigned: no token needed


async def stored_objects(service: Service, prefix: str) -> set[str]:
    store = create_object_store(storage_config(service.settings))
    try:
        return {info.key for info in await store.list(prefix)}
    finally:
        await store.close()


async def test_upload_list_info_download_delete(alice: GraphQLClient) -> None:
    data = b"depth,value\n1,2\n" * 1000
    body = await upload(alice, "cores.csv", data, prefix="surveys/2026")
    uploaded = body["data"]["uploadFile"]
    assert uploaded["key"] == "surveys/2026/cores.csv"
    assert uploaded["size"] == len(data)
    assert uploaded["contentType"] == "text/csv"
    assert uploaded["sha256"] == hashlib.sha256(data).hexdigest()
    await upload(alice, "other.txt", b"x", prefix="elsewhere")

    listed = await alice.data(FILES, {"p": "surveys/"})
    assert listed["files"] == [{"key": "surveys/2026/cores.csv", "size": len(data)}]
    info = await alice.data('{ file(key: "surveys/2026/cores.csv") { size contentType } }')
    assert info["file"] == {"size": len(data), "contentType": "text/csv"}

    url = uploaded["downloadUrl"]
    if not url.startswith("/"):  # object storage: a presigned URL of 15 minutes
        assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["900"], url
    got = await download(alice, url)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"].startswith("text/csv")

    deleted = await alice.data('mutation { deleteFile(key: "surveys/2026/cores.csv") }')
    assert deleted["deleteFile"] is True
    assert (await alice.data(FILES, {"p": "surveys/"}))["files"] == []


async def test_names_are_sanitised_and_replace_is_explicit(alice: GraphQLClient) -> None:
    first = await upload(alice, "../../etc/pass wd;.txt", b"one", prefix="../up/")
    key = first["data"]["uploadFile"]["key"]
    assert ".." not in key and " " not in key and not key.startswith("/")
    again = await upload(alice, "../../etc/pass wd;.txt", b"two", prefix="../up/")
    assert again["errors"][0]["extensions"]["code"] == "ALREADY_EXISTS"
    replaced = await upload(alice, "../../etc/pass wd;.txt", b"two", prefix="../up/", replace=True)
    assert replaced["data"]["uploadFile"]["size"] == 3


async def test_files_belong_to_their_uploader(alice: GraphQLClient, bob: GraphQLClient) -> None:
    body = await upload(alice, "private.bin", b"secret bytes")
    key = body["data"]["uploadFile"]["key"]
    assert (await bob.data(FILES))["files"] == []
    assert (await bob.data('{ file(key: "private.bin") { key } }'))["file"] is None
    denied = await bob.http.get(f"{bob.base_url}/files/{key}", headers=bob.headers())
    assert denied.status_code == 404
    assert denied.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    no_token = await bob.http.get(f"{bob.base_url}/files/{key}")
    assert no_token.status_code == 401
    error = await bob.error('mutation { deleteFile(key: "private.bin") }')
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_concurrent_first_uploads_of_one_key(alice: GraphQLClient, service: Service) -> None:
    """Each upload may find the key free before any has written its row: one
    wins, the others get ALREADY_EXISTS, and their objects are gone."""
    before = await stored_objects(service, "files/")
    bodies = await asyncio.gather(
        *(upload(alice, "race.txt", f"copy {n}".encode(), prefix="race") for n in range(6))
    )
    won = [b["data"]["uploadFile"] for b in bodies if not b.get("errors")]
    lost = [b["errors"][0]["extensions"]["code"] for b in bodies if b.get("errors")]
    assert len(won) == 1 and lost == ["ALREADY_EXISTS"] * 5, bodies
    assert len(await stored_objects(service, "files/") - before) == 1


async def test_oversized_upload_leaves_nothing(alice: GraphQLClient, service: Service) -> None:
    before = await stored_objects(service, "files/")
    too_big = b"0" * (service.settings.max_file_bytes + 1)
    body = await upload(alice, "huge.bin", too_big)
    assert body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert (await alice.data(FILES))["files"] == []
    assert await stored_objects(service, "files/") == before


async def test_broken_off_upload_leaves_no_object_and_no_row(
    alice: GraphQLClient, service: Service
) -> None:
    before = await stored_objects(service, "files/")
    boundary = "scriptbox-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        '{"query": "mutation($file: Upload!) { uploadFile(file: $file) { key } }", '
        '"variables": {"file": null}}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
        '{"0": ["variables.file"]}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="cut.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + b"x" * 100_000  # the body ends here: no closing boundary
    response = await alice.http.post(
        alice.url,
        content=head,
        headers={**alice.headers(), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 400
    assert (await alice.data(FILES))["files"] == []
    assert await stored_objects(service, "files/") == before


async def test_files_into_a_run_and_artifacts_out(alice: GraphQLClient) -> None:
    await upload(alice, "numbers.txt", b"1\n2\n3\n", prefix="in")
    content = (
        "import os\n"
        "def main(data):\n"
        "    numbers = [int(x) for x in open('/job/in/in_numbers.txt').read().split()]\n"
        "    try:\n"
        "        open('/job/in/in_numbers.txt', 'w').write('tampered')\n"
        "        writable = True\n"
        "    except OSError:\n"
        "        writable = False\n"
        "    os.makedirs('/job/out', exist_ok=True)\n"
        "    open('/job/out/sum.txt', 'w').write(str(sum(numbers)))\n"
        "    os.symlink('/etc/passwd', '/job/out/passwd-link')\n"
        "    os.mkfifo('/job/out/a-fifo')\n"
        "    return {'sum': sum(numbers), 'writable': writable}\n"
    )
    created = await script(alice, "summer.py", content)
    query = RUN.replace(
        "cursor",
        "cursor rejectedArtifacts inputFiles artifacts { name size key contentType downloadUrl }",
    )
    done = (
        await alice.data(
            query,
            {"input": {"scriptId": created["id"], "files": ["in/numbers.txt"], "wait": True}},
        )
    )["runScript"]
    assert done["status"] == "SUCCEEDED", done
    assert done["result"] == {"sum": 6, "writable": False}
    assert done["inputFiles"] == ["in/numbers.txt"]
    assert [a["name"] for a in done["artifacts"]] == ["sum.txt"]
    assert sorted(done["rejectedArtifacts"]) == ["a-fifo (fifo)", "passwd-link (symlink)"]
    artifact = done["artifacts"][0]
    assert artifact["key"] == f"{done['id']}/sum.txt"
    got = await download(alice, artifact["downloadUrl"])
    assert (got.status_code, got.content) == (200, b"6")


async def test_artifacts_whose_stored_names_collide_are_each_refused_by_name(
    alice: GraphQLClient,
) -> None:
    # Stored names are flat: "a/b.txt", "a_b.txt" and "a+b.txt" all become
    # "a_b.txt". The first in the runner's order (sorted, depth first) keeps it.
    content = (
        "import os\n"
        "def main(data):\n"
        "    os.makedirs('/job/out/a', exist_ok=True)\n"
        "    open('/job/out/a/b.txt', 'w').write('nested')\n"
        "    open('/job/out/a_b.txt', 'w').write('flat')\n"
        "    open('/job/out/a+b.txt', 'w').write('plus')\n"
        "    open('/job/out/other.txt', 'w').write('other')\n"
    )
    created = await script(alice, "collide.py", content)
    query = RUN.replace("cursor", "cursor rejectedArtifacts artifacts { name key downloadUrl }")
    done = (await alice.data(query, {"input": {"scriptId": created["id"], "wait": True}}))[
        "runScript"
    ]
    assert done["status"] == "SUCCEEDED", done
    assert [a["name"] for a in done["artifacts"]] == ["a_b.txt", "other.txt"]
    assert done["rejectedArtifacts"] == [
        "a+b.txt (stored name a_b.txt already taken by a/b.txt)",
        "a_b.txt (stored name a_b.txt already taken by a/b.txt)",
    ]
    kept = next(a for a in done["artifacts"] if a["name"] == "a_b.txt")
    got = await download(alice, kept["downloadUrl"])
    assert got.content == b"nested"


async def test_run_with_unknown_file_queues_nothing(alice: GraphQLClient) -> None:
    created = await script(alice, "f.py", "def main(data):\n    return 1\n")
    error = await alice.error(
        RUN, {"input": {"scriptId": created["id"], "files": ["no/such/file.txt"]}}
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    listed = await alice.data(
        "query($s: ID) { executions(scriptId: $s) { id } }", {"s": created["id"]}
    )
    assert listed["executions"] == []


async def test_artifacts_of_other_users_are_invisible(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    content = (
        "import os\ndef main(data):\n    os.makedirs('/job/out', exist_ok=True)\n"
        "    open('/job/out/a.txt', 'w').write('mine')\n"
    )
    created = await script(alice, "art.py", content)
    done = (await alice.data(RUN, {"input": {"scriptId": created["id"], "wait": True}}))[
        "runScript"
    ]
    response = await bob.http.get(
        f"{bob.base_url}/artifacts/{done['id']}/a.txt", headers=bob.headers()
    )
    assert response.status_code == 404
    mine = await alice.http.get(
        f"{alice.base_url}/artifacts/{done['id']}/a.txt", headers=alice.headers()
    )
    assert mine.content == b"mine"
