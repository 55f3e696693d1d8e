"""The Scripts Manager README's curl examples, in its order, against
`scriptbox serve` in both shapes: register, log in, create a folder, upload
a script (then the same again: SCRIPT_EXISTS_REPLACE_REQUIRED), read the
tree, run by path, upload a file, run with it, download the result. Each
answer is checked against the shape the seed documents."""

from __future__ import annotations

import secrets
from typing import Any

from tests.support.client import GraphQLClient
from tests.support.rest import FILE_SCRIPT, PASSWORD, bearer, detail

# The seed's example script (test_args_in_request_args_in_response.py).
SEED_EXAMPLE = (
    b"def main(data: dict) -> dict:\n"
    b"    name = data.get('name', 'Unknown')\n"
    b"    value = data.get('value', 0)\n"
    b"    return {'message': f'Hello, {name}!', 'processed_value': value * 2}\n"
)
USER = {"id", "login"}
FOLDER = {"id", "name", "path", "parent_id", "created_by", "created_at", "updated_at"}
FOLDER |= {"can_edit", "can_delete"}
SCRIPT = {"id", "filename", "logical_path", "display_name", "description", "folder_id"}
SCRIPT |= {"created_by", "created_at", "updated_at", "can_edit", "can_delete"}


def _has(body: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    assert fields <= set(body), sorted(fields - set(body))
    return body


async def test_the_seed_readme_flow(anon: GraphQLClient) -> None:
    http, base = anon.http, anon.base_url
    login = f"developer-{secrets.token_hex(4)}"
    credentials = {"login": login, "password": PASSWORD}

    registered = await http.post(f"{base}/api/v1/auth/register", json=credentials)
    assert registered.status_code == 201, registered.text
    assert _has(registered.json(), {"access_token", "token_type"})["token_type"] == "bearer"

    logged_in = await http.post(f"{base}/api/v1/auth/login", json=credentials)
    assert logged_in.status_code == 200, logged_in.text
    assert set(logged_in.json()) == {"access_token", "token_type"}
    headers = bearer(logged_in.json()["access_token"])
    wrong = await http.post(f"{base}/api/v1/auth/login", json={**credentials, "password": "x"})
    assert (wrong.status_code, detail(wrong)["code"]) == (401, "UNAUTHENTICATED")

    created = await http.post(
        f"{base}/api/v1/scripts-manager/folders",
        headers=headers,
        json={"name": "my_scripts", "parent_id": None},
    )
    assert created.status_code == 201, created.text
    folder = _has(created.json(), FOLDER)
    assert (folder["path"], folder["parent_id"]) == ("my_scripts", None)
    assert set(folder["created_by"]) == USER and folder["created_by"]["login"] == login

    form = {
        "display_name": "My Script",
        "description": "Test script",
        "folder_id": folder["id"],
        "replace": "false",
    }
    upload = {"file": ("my_script.py", SEED_EXAMPLE, "text/x-python")}
    uploaded = await http.post(
        f"{base}/api/v1/scripts-manager/scripts", headers=headers, data=form, files=upload
    )
    assert uploaded.status_code == 201, uploaded.text
    script = _has(uploaded.json(), SCRIPT)
    assert (script["logical_path"], script["folder_id"]) == (
        "my_scripts/my_script.py",
        folder["id"],
    )
    assert script["description"] == "Test script"

    again = await http.post(
        f"{base}/api/v1/scripts-manager/scripts", headers=headers, data=form, files=upload
    )
    assert again.status_code == 409
    assert detail(again)["error_code"] == "SCRIPT_EXISTS_REPLACE_REQUIRED"

    tree = await http.get(f"{base}/api/v1/scripts-manager/tree", headers=headers)
    assert tree.status_code == 200
    assert tree.json()["root_scripts"] == []
    [item] = tree.json()["root_folders"]
    assert set(item) == {"folder", "scripts", "subfolders"}
    assert item["folder"]["id"] == folder["id"]
    assert [s["logical_path"] for s in item["scripts"]] == ["my_scripts/my_script.py"]

    ran = await http.post(
        f"{base}/api/v1/scripts/{script['logical_path']}",
        headers=headers,
        json={"data": {"name": "World", "value": 42}},
    )
    assert ran.status_code == 200, ran.text
    result = _has(ran.json(), {"success", "result", "execution_time"})
    assert result["success"] is True
    assert result["result"] == {"message": "Hello, World!", "processed_value": 84}
    assert isinstance(result["execution_time"], float)

    stored = await http.post(
        f"{base}/api/v1/files/upload",
        params={"prefix": "test"},
        headers=headers,
        files={"file": ("data.txt", b"one\ntwo\n", "text/plain")},
    )
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"key": "test/data.txt", "size": 8}
    key = stored.json()["key"]
    info = await http.get(f"{base}/api/v1/files/{key}/info", headers=headers)
    assert info.json() == {"key": key, "size": 8, "content_type": "text/plain"}

    processor = await http.post(
        f"{base}/api/v1/scripts-manager/scripts",
        headers=headers,
        data={"display_name": "Upper", "folder_id": folder["id"]},
        files={"file": ("upper.py", FILE_SCRIPT, "text/x-python")},
    )
    assert processor.status_code == 201, processor.text
    with_file = await http.post(
        f"{base}/api/v1/scripts/my_scripts/upper.py",
        headers=headers,
        json={"data": {"file_key": key}},
    )
    assert with_file.status_code == 200, with_file.text
    assert with_file.json()["result"] == {"lines": 2}
    [artifact] = with_file.json()["artifacts"]
    assert set(artifact) >= {"name", "key", "size", "url"}

    result_file = await http.get(f"{base}{artifact['url']}", headers=headers)
    assert (result_file.status_code, result_file.content) == (200, b"ONE\nTWO\n")
    downloaded = await http.get(f"{base}/api/v1/files/{key}", headers=headers)
    assert (downloaded.status_code, downloaded.content) == (200, b"one\ntwo\n")

    deleted = await http.delete(f"{base}/api/v1/files/{key}", headers=headers)
    assert deleted.status_code == 200
    gone = await http.get(f"{base}/api/v1/files/{key}/info", headers=headers)
    assert (gone.status_code, detail(gone)["code"]) == (404, "NOT_FOUND")


async def test_failures_are_json_never_a_trace(anon: GraphQLClient) -> None:
    http, base = anon.http, anon.base_url
    for method, path in [
        ("GET", "/api/v1/scripts-manager/tree"),
        ("PATCH", "/api/v1/scripts-manager/tree"),
        ("POST", "/api/v1/auth/login"),
        ("GET", "/api/v1/files/%00"),
    ]:
        response = await http.request(method, f"{base}{path}", content=b"{broken")
        assert response.status_code in (400, 401, 405), (path, response.text)
        assert response.headers["content-type"].startswith("application/json")
        assert "Traceback" not in response.text
        detail(response)
    document = await http.get(f"{base}/api/v1/openapi.json")
    assert document.json()["openapi"].startswith("3.1")
