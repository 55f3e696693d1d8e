"""The folder/script tree through GraphQL over HTTP, on both storage backends."""

from __future__ import annotations

import pytest

from tests.support.client import GraphQLClient
from tests.support.tree import (
    CREATE_FOLDER,
    CREATE_SCRIPT,
    SCRIPT_BY_ID,
    SCRIPT_BY_PATH,
    TREE,
    UPDATE_SCRIPT,
    folder,
    script,
)


async def test_whole_tree_in_one_request(alice: GraphQLClient) -> None:
    geology = await folder(alice, "geology")
    cores = await folder(alice, "cores", geology["id"])
    await script(alice, "analysis.py", "def main(data):\n    return data\n", geology["id"])
    await script(alice, "depth.sh", "echo deep\n", cores["id"])
    await script(alice, "top.py", "print('hi')\n")

    tree = (await alice.data(TREE))["tree"]
    assert tree["scripts"] == [{"name": "top.py", "path": "top.py"}]
    [geo] = tree["folders"]
    assert geo["path"] == "geology"
    assert geo["scripts"] == [{"name": "analysis.py", "path": "geology/analysis.py"}]
    [inner] = geo["folders"]
    assert inner["path"] == "geology/cores"
    assert inner["scripts"] == [{"name": "depth.sh", "path": "geology/cores/depth.sh"}]


async def test_find_script_by_path(alice: GraphQLClient) -> None:
    geology = await folder(alice, "geology")
    created = await script(alice, "analysis.py", "x = 1\n", geology["id"])
    found = (await alice.data(SCRIPT_BY_PATH, {"path": "geology/analysis.py"}))["script"]
    assert found["id"] == created["id"]
    assert found["content"] == "x = 1\n"
    missing = await alice.data(SCRIPT_BY_PATH, {"path": "geology/nope.py"})
    assert missing["script"] is None
    assert (await alice.data(SCRIPT_BY_PATH, {"path": "nowhere/analysis.py"}))["script"] is None


async def test_language_is_inferred_or_given(alice: GraphQLClient) -> None:
    py = await script(alice, "a.py", "pass\n")
    sh = await script(alice, "b.sh", "true\n")
    explicit = await script(alice, "tool", "echo ok\n", language="SHELL")
    assert (py["language"], sh["language"], explicit["language"]) == ("PYTHON", "SHELL", "SHELL")
    error = await alice.error(CREATE_SCRIPT, {"input": {"name": "noext", "content": "x"}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_rename_move_and_delete_folders(alice: GraphQLClient) -> None:
    a = await folder(alice, "a")
    b = await folder(alice, "b")
    renamed = await alice.data(
        'mutation($id: ID!) { renameFolder(id: $id, name: "a2") { name path } }', {"id": a["id"]}
    )
    assert renamed["renameFolder"] == {"name": "a2", "path": "a2"}
    moved = await alice.data(
        "mutation($id: ID!, $p: ID) { moveFolder(id: $id, parentId: $p) { path parent { id } } }",
        {"id": a["id"], "p": b["id"]},
    )
    assert moved["moveFolder"] == {"path": "b/a2", "parent": {"id": b["id"]}}
    back = await alice.data(
        "mutation($id: ID!) { moveFolder(id: $id, parentId: null) { path parent { id } } }",
        {"id": a["id"]},
    )
    assert back["moveFolder"] == {"path": "a2", "parent": None}


async def test_deleting_a_folder_deletes_what_is_inside(alice: GraphQLClient) -> None:
    top = await folder(alice, "doomed")
    inner = await folder(alice, "inner", top["id"])
    s1 = await script(alice, "one.py", "pass\n", top["id"])
    s2 = await script(alice, "two.py", "pass\n", inner["id"])
    keep = await script(alice, "keep.py", "pass\n")
    deleted = await alice.data("mutation($id: ID!) { deleteFolder(id: $id) }", {"id": top["id"]})
    assert deleted["deleteFolder"] is True
    for gone in (s1, s2):
        assert (await alice.data(SCRIPT_BY_ID, {"id": gone["id"]}))["script"] is None
    assert (await alice.data("query($id: ID!) { folder(id: $id) { id } }", {"id": inner["id"]}))[
        "folder"
    ] is None
    assert (await alice.data(SCRIPT_BY_ID, {"id": keep["id"]}))["script"]["name"] == "keep.py"


async def test_moving_a_folder_into_itself_is_refused(alice: GraphQLClient) -> None:
    a = await folder(alice, "a")
    b = await folder(alice, "b", a["id"])
    query = "mutation($id: ID!, $p: ID) { moveFolder(id: $id, parentId: $p) { id } }"
    for target in (a["id"], b["id"]):
        error = await alice.error(query, {"id": a["id"], "p": target})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_update_move_and_delete_scripts(alice: GraphQLClient) -> None:
    box = await folder(alice, "box")
    created = await script(alice, "s.py", "x = 1\n", description="first")
    updated = await alice.data(
        UPDATE_SCRIPT,
        {"id": created["id"], "input": {"name": "t.py", "description": "second"}},
    )
    assert updated["updateScript"]["name"] == "t.py"
    assert updated["updateScript"]["description"] == "second"
    assert updated["updateScript"]["version"] == 1  # metadata only: no new version
    moved = await alice.data(
        "mutation($id: ID!, $f: ID) { moveScript(id: $id, folderId: $f) { path } }",
        {"id": created["id"], "f": box["id"]},
    )
    assert moved["moveScript"]["path"] == "box/t.py"
    assert (
        await alice.data("mutation($id: ID!) { deleteScript(id: $id) }", {"id": created["id"]})
    )["deleteScript"]
    assert (await alice.data(SCRIPT_BY_ID, {"id": created["id"]}))["script"] is None


async def test_each_content_change_is_a_new_immutable_version(alice: GraphQLClient) -> None:
    created = await script(alice, "v.py", "x = 1\n")
    assert created["version"] == 1
    await alice.data(UPDATE_SCRIPT, {"id": created["id"], "input": {"content": "x = 2\n"}})
    # The same content again is not a change.
    same = await alice.data(UPDATE_SCRIPT, {"id": created["id"], "input": {"content": "x = 2\n"}})
    assert same["updateScript"]["version"] == 2
    await alice.data(UPDATE_SCRIPT, {"id": created["id"], "input": {"content": "x = 3\n"}})

    current = (await alice.data(SCRIPT_BY_ID, {"id": created["id"]}))["script"]
    assert current["version"] == 3
    assert current["content"] == "x = 3\n"
    assert [v["version"] for v in current["versions"]] == [1, 2, 3]
    assert [v["size"] for v in current["versions"]] == [6, 6, 6]
    assert len({v["sha256"] for v in current["versions"]}) == 3

    old = await alice.data(
        "query($id: ID!) { script(id: $id) { v1: content(version: 1) v2: content(version: 2) } }",
        {"id": created["id"]},
    )
    assert old["script"] == {"v1": "x = 1\n", "v2": "x = 2\n"}
    missing = await alice.error(
        "query($id: ID!) { script(id: $id) { content(version: 9) } }", {"id": created["id"]}
    )
    assert missing["extensions"]["code"] == "NOT_FOUND"


async def test_existing_path_needs_replace(alice: GraphQLClient) -> None:
    first = await script(alice, "same.py", "x = 1\n")
    error = await alice.error(CREATE_SCRIPT, {"input": {"name": "same.py", "content": "x = 2\n"}})
    assert error["extensions"]["code"] == "SCRIPT_EXISTS_REPLACE_REQUIRED"
    assert error["extensions"]["scriptId"] == first["id"]
    replaced = await script(alice, "same.py", "x = 2\n", replace=True)
    assert replaced["id"] == first["id"]
    assert replaced["version"] == 2
    assert replaced["content"] == "x = 2\n"


async def test_sibling_names_are_unique(alice: GraphQLClient) -> None:
    await folder(alice, "dup")
    error = await alice.error(CREATE_FOLDER, {"name": "dup"})
    assert error["extensions"]["code"] == "ALREADY_EXISTS"
    error = await alice.error(
        CREATE_SCRIPT, {"input": {"name": "dup", "content": "x", "language": "SHELL"}}
    )
    assert error["extensions"]["code"] == "ALREADY_EXISTS"
    other = await folder(alice, "other")
    error = await alice.error(
        'mutation($id: ID!) { renameFolder(id: $id, name: "dup") { id } }', {"id": other["id"]}
    )
    assert error["extensions"]["code"] == "ALREADY_EXISTS"
    # The same name in another folder is fine.
    await folder(alice, "dup", other["id"])


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "a/b",
        "..",
        ".",
        "tab\there",
        "nul\x00",
        "new\nline",
        "x" * 256,
        " lead",
        "back\\slash",
    ],
)
async def test_bad_names_are_refused(alice: GraphQLClient, name: str) -> None:
    error = await alice.error(CREATE_FOLDER, {"name": name})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await alice.error(
        CREATE_SCRIPT, {"input": {"name": name, "content": "x", "language": "SHELL"}}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_users_see_only_their_own_tree(alice: GraphQLClient, bob: GraphQLClient) -> None:
    secret_folder = await folder(alice, "private")
    secret = await script(alice, "secret.py", "x = 1\n", secret_folder["id"])
    assert (await bob.data(SCRIPT_BY_ID, {"id": secret["id"]}))["script"] is None
    assert (await bob.data(SCRIPT_BY_PATH, {"path": "private/secret.py"}))["script"] is None
    assert (
        await bob.data("query($id: ID!) { folder(id: $id) { id } }", {"id": secret_folder["id"]})
    )["folder"] is None
    assert (await bob.data(TREE))["tree"] == {"scripts": [], "folders": []}
    attempts = [
        ("mutation($id: ID!) { deleteScript(id: $id) }", {"id": secret["id"]}),
        ("mutation($id: ID!) { deleteFolder(id: $id) }", {"id": secret_folder["id"]}),
        (
            'mutation($id: ID!) { renameFolder(id: $id, name: "x") { id } }',
            {"id": secret_folder["id"]},
        ),
        (UPDATE_SCRIPT, {"id": secret["id"], "input": {"content": "stolen"}}),
        (CREATE_FOLDER, {"name": "inside", "parentId": secret_folder["id"]}),
        ("mutation($id: ID!) { moveScript(id: $id, folderId: null) { id } }", {"id": secret["id"]}),
    ]
    for query, variables in attempts:
        error = await bob.error(query, variables)
        assert error["extensions"]["code"] == "NOT_FOUND", query
    # Alice's things are untouched.
    assert (await alice.data(SCRIPT_BY_ID, {"id": secret["id"]}))["script"]["content"] == "x = 1\n"


async def test_malformed_ids_are_not_found(alice: GraphQLClient) -> None:
    error = await alice.error('mutation { deleteFolder(id: "not-a-uuid") }')
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_script_query_needs_exactly_one_of_id_and_path(alice: GraphQLClient) -> None:
    error = await alice.error("{ script { id } }")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
