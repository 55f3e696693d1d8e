"""The upload caps of GraphQL hold on the REST face: the whole multipart
body, one file, one script; a form holds one file. Nothing is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.client import GraphQLClient
from tests.support.rest import detail, upload_file, upload_script
from tests.support.servers import Service
from tests.support.tree import script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

EMPTY_TREE: dict[str, list[object]] = {"root_scripts": [], "root_folders": []}


async def test_over_size_uploads_are_refused(alice: GraphQLClient, service: Service) -> None:
    caps = service.settings
    base, token = alice.base_url, alice.token
    body = b"x" * (caps.max_upload_bytes + 1)
    whole = await upload_file(alice.http, base, token, "big.bin", body, "p")
    # Refused before it is read, in the REST face's own error shape.
    assert (whole.status_code, detail(whole)["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert caps.max_file_bytes < caps.max_upload_bytes
    one_file = b"x" * (caps.max_file_bytes + 1)
    file = await upload_file(alice.http, base, token, "big.bin", one_file, "p")
    assert (file.status_code, detail(file)["code"]) == (413, "PAYLOAD_TOO_LARGE")
    script = b"#" * caps.max_script_bytes + b"\ndef main(d): return d\n"
    too_long = await upload_script(alice.http, base, token, "big.py", script)
    assert (too_long.status_code, detail(too_long)["code"]) == (413, "PAYLOAD_TOO_LARGE")

    tree = await alice.http.get(f"{base}/api/v1/scripts-manager/tree", headers=alice.headers())
    assert tree.json() == EMPTY_TREE
    info = await alice.http.get(f"{base}/api/v1/files/p/big.bin/info", headers=alice.headers())
    assert info.status_code == 404


async def test_a_form_holds_one_file(alice: GraphQLClient) -> None:
    many = await alice.http.post(
        f"{alice.base_url}/api/v1/files/upload",
        headers=alice.headers(),
        files=[("file", ("a.txt", b"a")), ("file", ("b.txt", b"b"))],
    )
    assert (many.status_code, detail(many)["code"]) == (400, "MALFORMED_MULTIPART")
    fields = {f"f{i}": (None, "v") for i in range(40)}
    crowded = await alice.http.post(
        f"{alice.base_url}/api/v1/files/upload",
        headers=alice.headers(),
        files={**fields, "file": ("a.txt", b"a")},
    )
    assert (crowded.status_code, detail(crowded)["code"]) == (400, "MALFORMED_MULTIPART")
    for key in ("a.txt", "b.txt"):
        info = await alice.http.get(
            f"{alice.base_url}/api/v1/files/{key}/info", headers=alice.headers()
        )
        assert info.status_code == 404


async def test_an_over_cap_json_body_answers_in_each_routes_own_shape(
    alice: GraphQLClient, service: Service
) -> None:
    """Declared or streamed, a body past the JSON cap is refused unread, and
    answered as the route answers every error: the run path's
    `{"success": false, "error"}`, the other routes' `{"detail"}`."""
    cap = service.settings.max_json_body_bytes
    base, headers = alice.base_url, {**alice.headers(), "Content-Type": "application/json"}
    oversized = b'{"data": {"pad": "' + b"x" * cap + b'"}}'

    async def streamed() -> AsyncIterator[bytes]:
        for start in range(0, len(oversized), 1024 * 1024):
            yield oversized[start : start + 1024 * 1024]

    await script(alice, "echo.py", "def main(data):\n    return data\n")
    for content in (oversized, streamed()):
        run = await alice.http.post(
            f"{base}/api/v1/scripts/echo.py", content=content, headers=headers
        )
        assert run.status_code == 413, run.text
        assert run.json()["success"] is False
        assert run.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

    folder = await alice.http.post(
        f"{base}/api/v1/scripts-manager/folders", content=oversized, headers=headers
    )
    assert (folder.status_code, detail(folder)["code"]) == (413, "PAYLOAD_TOO_LARGE")
    tree = await alice.http.get(f"{base}/api/v1/scripts-manager/tree", headers=alice.headers())
    assert tree.json()["root_folders"] == []
    assert (await alice.data("{ executions { id } }"))["executions"] == []
