"""The Scripts Manager's folder, script and tree calls, in its documented
shapes, on each storage and database (script content lives in storage)."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.rest import SEED_SCRIPT, detail, upload_script

MANAGER = "/api/v1/scripts-manager"
FOLDER_FIELDS = {
    "id",
    "name",
    "path",
    "parent_id",
    "created_by",
    "created_at",
    "updated_at",
    "can_edit",
    "can_delete",
}
SCRIPT_FIELDS = {
    "id",
    "filename",
    "logical_path",
    "display_name",
    "description",
    "folder_id",
    "language",
    "version",
    "created_by",
    "created_at",
    "updated_at",
    "can_edit",
    "can_delete",
}


async def _create_folder(
    client: GraphQLClient, name: str, parent_id: str | None = None
) -> dict[str, Any]:
    response = await client.http.post(
        f"{client.base_url}{MANAGER}/folders",
        headers=client.headers(),
        json={"name": name, "parent_id": parent_id},
    )
    assert response.status_code == 201, response.text
    folder: dict[str, Any] = response.json()
    assert set(folder) == FOLDER_FIELDS
    return folder


async def test_folders_scripts_and_the_tree(alice: GraphQLClient) -> None:
    base, headers = alice.base_url, alice.headers()
    geology = await _create_folder(alice, "geology")
    field = await _create_folder(alice, "field", geology["id"])
    assert (field["path"], field["parent_id"]) == ("geology/field", geology["id"])
    assert geology["can_edit"] and geology["can_delete"]

    uploaded = await upload_script(
        alice.http, base, alice.token, "analysis.py", SEED_SCRIPT, field["id"]
    )
    assert uploaded.status_code == 201, uploaded.text
    script = uploaded.json()
    assert set(script) == SCRIPT_FIELDS
    assert (script["logical_path"], script["folder_id"]) == (
        "geology/field/analysis.py",
        field["id"],
    )
    assert script["created_by"]["login"].startswith("alice")

    again = await upload_script(
        alice.http, base, alice.token, "analysis.py", b"x = 1\n", field["id"]
    )
    assert again.status_code == 409
    assert detail(again)["code"] == "SCRIPT_EXISTS_REPLACE_REQUIRED"
    replaced = await upload_script(
        alice.http,
        base,
        alice.token,
        "analysis.py",
        SEED_SCRIPT + b"# v2\n",
        field["id"],
        replace=True,
    )
    assert (replaced.status_code, replaced.json()["version"]) == (201, 2)
    content = await alice.http.get(
        f"{base}{MANAGER}/scripts/{script['id']}/content", headers=headers
    )
    assert content.json() == {"content": (SEED_SCRIPT + b"# v2\n").decode()}

    renamed = await alice.http.put(
        f"{base}{MANAGER}/scripts/{script['id']}",
        headers=headers,
        json={"filename": "survey.py", "description": "cores", "display_name": "Survey"},
    )
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["logical_path"], renamed.json()["description"]) == (
        "geology/field/survey.py",
        "cores",
    )
    moved = await alice.http.put(
        f"{base}{MANAGER}/folders/{geology['id']}", headers=headers, json={"name": "geo"}
    )
    assert moved.json()["path"] == "geo"

    tree = (await alice.http.get(f"{base}{MANAGER}/tree", headers=headers)).json()
    assert tree["root_scripts"] == []
    [top] = tree["root_folders"]
    assert (top["folder"]["name"], top["scripts"]) == ("geo", [])
    [sub] = top["subfolders"]
    assert sub["folder"]["path"] == "geo/field"
    assert [s["logical_path"] for s in sub["scripts"]] == ["geo/field/survey.py"]
    assert sub["subfolders"] == []

    gone = await alice.http.delete(f"{base}{MANAGER}/folders/{geology['id']}", headers=headers)
    assert gone.status_code == 204
    tree = (await alice.http.get(f"{base}{MANAGER}/tree", headers=headers)).json()
    assert tree == {"root_scripts": [], "root_folders": []}
    missing = await alice.http.get(f"{base}{MANAGER}/scripts/{script['id']}", headers=headers)
    assert (missing.status_code, detail(missing)["code"]) == (404, "NOT_FOUND")


async def test_a_script_at_the_top_and_its_deletion(alice: GraphQLClient) -> None:
    base, headers = alice.base_url, alice.headers()
    made = await upload_script(alice.http, base, alice.token, "top.py", SEED_SCRIPT, "null")
    assert made.status_code == 201, made.text
    script = made.json()
    assert (script["logical_path"], script["folder_id"]) == ("top.py", None)
    read = await alice.http.get(f"{base}{MANAGER}/scripts/{script['id']}", headers=headers)
    assert read.json() == script
    tree = (await alice.http.get(f"{base}{MANAGER}/tree", headers=headers)).json()
    assert [s["id"] for s in tree["root_scripts"]] == [script["id"]]
    deleted = await alice.http.delete(f"{base}{MANAGER}/scripts/{script['id']}", headers=headers)
    assert deleted.status_code == 204
    again = await alice.http.delete(f"{base}{MANAGER}/scripts/{script['id']}", headers=headers)
    assert (again.status_code, detail(again)["code"]) == (404, "NOT_FOUND")


async def test_another_users_rows_are_not_found(alice: GraphQLClient, bob: GraphQLClient) -> None:
    base = alice.base_url
    folder = await _create_folder(alice, "private")
    made = await upload_script(alice.http, base, alice.token, "mine.py", SEED_SCRIPT, folder["id"])
    script_id = made.json()["id"]
    for method, path in [
        ("GET", f"/folders/{folder['id']}"),
        ("PUT", f"/folders/{folder['id']}"),
        ("DELETE", f"/folders/{folder['id']}"),
        ("GET", f"/scripts/{script_id}"),
        ("GET", f"/scripts/{script_id}/content"),
        ("PUT", f"/scripts/{script_id}/content"),
        ("DELETE", f"/scripts/{script_id}"),
    ]:
        body = {"name": "taken", "content": "echo taken\n"} if method == "PUT" else None
        response = await bob.http.request(
            method, f"{base}{MANAGER}{path}", headers=bob.headers(), json=body
        )
        assert (response.status_code, detail(response)["code"]) == (404, "NOT_FOUND"), path
    into = await upload_script(bob.http, base, bob.token, "x.py", SEED_SCRIPT, folder["id"])
    assert (into.status_code, detail(into)["code"]) == (404, "NOT_FOUND")
    assert (await bob.http.get(f"{base}{MANAGER}/tree", headers=bob.headers())).json() == {
        "root_scripts": [],
        "root_folders": [],
    }
    still = await alice.http.get(f"{base}{MANAGER}/folders/{folder['id']}", headers=alice.headers())
    assert still.json()["name"] == "private"


async def test_a_script_from_json_text_and_new_content(alice: GraphQLClient) -> None:
    """For software that holds a script as text, not a file to upload."""
    base, headers = alice.base_url, alice.headers()
    folder = await _create_folder(alice, "jobs")
    text = {"filename": "hello.sh", "content": "echo hello\n", "folder_id": folder["id"]}
    made = await alice.http.post(f"{base}{MANAGER}/scripts", headers=headers, json=text)
    assert made.status_code == 201, made.text
    script = made.json()
    assert set(script) == SCRIPT_FIELDS
    assert (script["logical_path"], script["language"], script["version"]) == (
        "jobs/hello.sh",
        "shell",
        1,
    )
    again = await alice.http.post(f"{base}{MANAGER}/scripts", headers=headers, json=text)
    assert (again.status_code, detail(again)["code"]) == (409, "SCRIPT_EXISTS_REPLACE_REQUIRED")
    replaced = await alice.http.post(
        f"{base}{MANAGER}/scripts",
        headers=headers,
        json={**text, "content": "echo again\n", "replace": True},
    )
    assert (replaced.status_code, replaced.json()["version"]) == (201, 2), replaced.text

    content_url = f"{base}{MANAGER}/scripts/{script['id']}/content"
    saved = await alice.http.put(content_url, headers=headers, json={"content": "echo three\n"})
    assert (saved.status_code, saved.json()["version"]) == (200, 3), saved.text
    read = await alice.http.get(content_url, headers=headers)
    assert read.json() == {"content": "echo three\n"}

    for bad, field in [
        ({"content": "x"}, "filename"),
        ({"filename": "a.py"}, "content"),
        ({"filename": "a.py", "content": 5}, "content"),
        ({"filename": "a.txt", "content": "x", "language": "cobol"}, "language"),
        ({"filename": "a.py", "content": "x", "replace": "yes"}, "replace"),
        ({"filename": "bad.py", "content": "def broken(:\n"}, ""),
    ]:
        refused = await alice.http.post(f"{base}{MANAGER}/scripts", headers=headers, json=bad)
        assert refused.status_code in (400, 422), refused.text
        assert field in detail(refused)["message"], refused.text
    refused = await alice.http.put(content_url, headers=headers, json={"content": None})
    assert (refused.status_code, detail(refused)["code"]) == (400, "BAD_USER_INPUT")
    tree = (await alice.http.get(f"{base}{MANAGER}/tree", headers=headers)).json()
    assert tree["root_scripts"] == []
    [jobs] = tree["root_folders"]
    assert [s["filename"] for s in jobs["scripts"]] == ["hello.sh"]
