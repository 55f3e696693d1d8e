"""What the REST face refuses, and how: bad names and keys, missing or
under-scoped tokens, methods it does not serve, bodies over the caps. Every
refusal is JSON with a GraphQL code, and leaves nothing behind."""

from __future__ import annotations

import pytest

from tests.services.test_api_tokens import new_token
from tests.support.client import GraphQLClient
from tests.support.rest import SEED_SCRIPT, bearer, detail, upload_file, upload_script

MANAGER = "/api/v1/scripts-manager"
EMPTY_TREE: dict[str, list[object]] = {"root_scripts": [], "root_folders": []}

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)


async def _tree(client: GraphQLClient) -> object:
    response = await client.http.get(f"{client.base_url}{MANAGER}/tree", headers=client.headers())
    return response.json()


@pytest.mark.parametrize(
    "name",
    [
        "..",
        ".",
        "a/b.py",
        "nul\x00.py",
        "bell\x07.py",
        "tab\tname.py",
        "esc\x1b.py",
        "x" * 253 + ".py",
        " a.py",
    ],
)
async def test_bad_script_names_are_refused_and_nothing_is_made(
    alice: GraphQLClient, name: str
) -> None:
    # Built by hand: HTTP clients escape control characters in a file name.
    boundary = "scriptbox-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{name}"\r\nContent-Type: text/x-python\r\n\r\n'
        ).encode()
        + SEED_SCRIPT
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = await alice.http.post(
        f"{alice.base_url}{MANAGER}/scripts",
        headers={
            **alice.headers(),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        content=body,
    )
    assert response.status_code == 400, response.text
    assert detail(response)["code"] == "BAD_USER_INPUT"
    assert await _tree(alice) == EMPTY_TREE


@pytest.mark.parametrize("name", ["..", "tab\there", "nul\x00", "y" * 256, ""])
async def test_bad_folder_names_are_refused(alice: GraphQLClient, name: str) -> None:
    response = await alice.http.post(
        f"{alice.base_url}{MANAGER}/folders", headers=alice.headers(), json={"name": name}
    )
    assert (response.status_code, detail(response)["code"]) == (400, "BAD_USER_INPUT")
    assert await _tree(alice) == EMPTY_TREE


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/files/a%00b.txt",
        "/api/v1/files/a%00b.txt/info",
        "/api/v1/scripts-manager/folders/%00",
        "/api/v1/scripts-manager/scripts/%00/content",
    ],
)
async def test_nul_in_a_url_is_bad_input(alice: GraphQLClient, path: str) -> None:
    response = await alice.http.get(f"{alice.base_url}{path}", headers=alice.headers())
    assert (response.status_code, detail(response)["code"]) == (400, "BAD_USER_INPUT")


async def test_run_paths_are_checked_as_in_graphql(alice: GraphQLClient) -> None:
    for path in ["a/../b.py", "a/%00.py", "a/%07.py"]:
        response = await alice.http.post(
            f"{alice.base_url}/api/v1/scripts/{path}", headers=alice.headers(), json={"data": {}}
        )
        assert response.status_code in (400, 404), response.text
        assert response.json()["error"]["code"] in ("BAD_USER_INPUT", "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{MANAGER}/tree"),
        ("POST", f"{MANAGER}/folders"),
        ("GET", f"{MANAGER}/folders/x"),
        ("POST", f"{MANAGER}/scripts"),
        ("GET", "/api/v1/files/a.txt"),
        ("POST", "/api/v1/files/upload"),
    ],
)
async def test_no_token_is_401_json(anon: GraphQLClient, method: str, path: str) -> None:
    response = await anon.http.request(method, f"{anon.base_url}{path}")
    assert response.status_code == 401
    assert detail(response)["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"] == "Bearer"
    forged = await anon.http.request(
        method, f"{anon.base_url}{path}", headers=bearer("sbx_nothing_here")
    )
    assert (forged.status_code, detail(forged)["code"]) == (401, "UNAUTHENTICATED")


async def test_a_cookie_is_not_a_login(alice: GraphQLClient) -> None:
    assert alice.token is not None
    response = await alice.http.get(
        f"{alice.base_url}{MANAGER}/tree", headers={"Cookie": f"access_token={alice.token}"}
    )
    assert (response.status_code, detail(response)["code"]) == (401, "UNAUTHENTICATED")


async def test_token_scopes_are_those_of_graphql(alice: GraphQLClient) -> None:
    base = alice.base_url
    reader, _ = await new_token(alice, "READ")
    assert await _tree(reader) == EMPTY_TREE
    refused = await reader.http.post(
        f"{base}{MANAGER}/folders", headers=reader.headers(), json={"name": "nope"}
    )
    assert (refused.status_code, detail(refused)["code"]) == (403, "FORBIDDEN")
    upload = await upload_script(reader.http, base, reader.token, "r.py", SEED_SCRIPT)
    assert (upload.status_code, detail(upload)["code"]) == (403, "FORBIDDEN")
    stored = await upload_file(reader.http, base, reader.token, "a.txt", b"a", "p")
    assert (stored.status_code, detail(stored)["code"]) == (403, "FORBIDDEN")
    assert await _tree(alice) == EMPTY_TREE

    made = await upload_script(alice.http, base, alice.token, "run.py", SEED_SCRIPT)
    assert made.status_code == 201
    run = await reader.http.post(
        f"{base}/api/v1/scripts/run.py", headers=reader.headers(), json={"data": {}}
    )
    assert (run.status_code, run.json()["error"]["code"]) == (403, "FORBIDDEN")
    runner, _ = await new_token(alice, "RUN")
    ran = await runner.http.post(
        f"{base}/api/v1/scripts/run.py", headers=runner.headers(), json={"data": {"name": "A"}}
    )
    assert ran.json()["result"] == {"message": "Hello, A!"}
    writer, _ = await new_token(alice, "WRITE")
    folder = await writer.http.post(
        f"{base}{MANAGER}/folders", headers=writer.headers(), json={"name": "ok"}
    )
    assert folder.status_code == 201


async def test_methods_not_served_answer_json(alice: GraphQLClient) -> None:
    for method, path in [("PATCH", f"{MANAGER}/tree"), ("POST", "/api/v1/files/a.txt")]:
        response = await alice.http.request(
            method, f"{alice.base_url}{path}", headers=alice.headers()
        )
        assert (response.status_code, detail(response)["code"]) == (405, "METHOD_NOT_ALLOWED")
        assert response.headers["allow"]


async def test_bodies_that_are_not_what_they_should_be(alice: GraphQLClient) -> None:
    base, headers = alice.base_url, alice.headers()
    neither = await alice.http.post(
        f"{base}{MANAGER}/scripts",
        headers={**headers, "Content-Type": "text/plain"},
        content=b"print(1)\n",
    )
    assert (neither.status_code, detail(neither)["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert "application/json" in detail(neither)["message"]
    json_without_text = await alice.http.post(
        f"{base}{MANAGER}/scripts", headers=headers, json={"file": "x"}
    )
    assert (json_without_text.status_code, detail(json_without_text)["code"]) == (
        400,
        "BAD_USER_INPUT",
    )
    no_file = await alice.http.post(
        f"{base}{MANAGER}/scripts", headers=headers, files={"display_name": (None, "x")}
    )
    assert (no_file.status_code, detail(no_file)["code"]) == (400, "BAD_USER_INPUT")
    broken = await alice.http.post(
        f"{base}/api/v1/files/upload",
        headers={**headers, "Content-Type": "multipart/form-data; boundary=zzz"},
        content=b'--zzz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n',
    )
    assert broken.status_code == 400, broken.text
    assert detail(broken)["code"] in ("MALFORMED_MULTIPART", "BAD_USER_INPUT")
    not_json = await alice.http.post(
        f"{base}{MANAGER}/folders",
        headers={**headers, "Content-Type": "application/json"},
        content=b"{nope",
    )
    assert not_json.status_code == 400
    assert detail(not_json)["code"] in ("BAD_REQUEST", "BAD_USER_INPUT")
    a_list = await alice.http.post(f"{base}{MANAGER}/folders", headers=headers, json=[1])
    assert (a_list.status_code, detail(a_list)["code"]) == (400, "BAD_USER_INPUT")
    wrong_type = await alice.http.post(
        f"{base}{MANAGER}/folders", headers=headers, json={"name": 5}
    )
    assert (wrong_type.status_code, detail(wrong_type)["code"]) == (400, "BAD_USER_INPUT")
    replace = await upload_script(alice.http, base, alice.token, "r.py", SEED_SCRIPT)
    assert replace.status_code == 201
    odd_flag = await alice.http.post(
        f"{base}{MANAGER}/scripts",
        headers=headers,
        data={"replace": "maybe"},
        files={"file": ("r.py", SEED_SCRIPT)},
    )
    assert (odd_flag.status_code, detail(odd_flag)["code"]) == (400, "BAD_USER_INPUT")


AUDIT = """
query($action: String) { auditLog(action: $action) {
  actorName tokenPrefix action objectType objectId outcome } }
"""


async def test_changes_are_audited_as_mutations_are(alice: GraphQLClient) -> None:
    base = alice.base_url
    made = await alice.http.post(
        f"{base}{MANAGER}/folders", headers=alice.headers(), json={"name": "audited"}
    )
    folder_id = made.json()["id"]
    reader, row = await new_token(alice, "READ")
    refused = await reader.http.delete(
        f"{base}{MANAGER}/folders/{folder_id}", headers=reader.headers()
    )
    assert refused.status_code == 403
    await alice.http.get(f"{base}{MANAGER}/tree", headers=alice.headers())

    created = (await alice.data(AUDIT, {"action": "rest.create_folder"}))["auditLog"]
    assert [(e["objectType"], e["objectId"], e["outcome"]) for e in created] == [
        ("Folder", folder_id, "ok")
    ]
    [denied] = (await alice.data(AUDIT, {"action": "rest.delete_folder"}))["auditLog"]
    assert (denied["outcome"], denied["tokenPrefix"]) == ("FORBIDDEN", row["prefix"])
    assert (await alice.data(AUDIT, {"action": "rest.read_tree"}))["auditLog"] == []
