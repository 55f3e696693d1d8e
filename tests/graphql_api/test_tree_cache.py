"""A whole-tree response is reused while the tree stands still, and every
change to what the caller's tree shows is in the very next response: made
by the owner, by an editor of a folder they share, or by taking access
away. GET answers carry an ETag, and 304 answers a client that holds the
current one.

Each test loads the tree twice before a change, so the second answer is
the kept one and the change must get past it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.services.test_api_tokens import new_token
from tests.support.client import GraphQLClient
from tests.support.sharing import (
    REMOVE_MEMBER,
    UNSHARE,
    group_of,
    share,
    uid,
    username,
)
from tests.support.tree import UPDATE_SCRIPT, folder, script

TREE = """
{ tree {
  scripts { name path version description }
  folders { name path scripts { name path version description }
    folders { name path scripts { name path version description } folders { name path } } }
} }
"""
RENAME_FOLDER = "mutation($id: ID!, $n: String!) { renameFolder(id: $id, name: $n) { id } }"
MOVE_FOLDER = "mutation($id: ID!, $p: ID) { moveFolder(id: $id, parentId: $p) { id } }"
DELETE_FOLDER = "mutation($id: ID!) { deleteFolder(id: $id) }"
MOVE_SCRIPT = "mutation($id: ID!, $f: ID) { moveScript(id: $id, folderId: $f) { id } }"
DELETE_SCRIPT = "mutation($id: ID!) { deleteScript(id: $id) }"
REVERT = "mutation($id: ID!, $v: Int!) { revertScript(id: $id, version: $v) { version } }"


async def tree_twice(client: GraphQLClient, query: str = TREE) -> dict[str, Any]:
    """The tree, asked for twice (the second answer is the kept one); both equal."""
    first = await client.data(query)
    second = await client.data(query)
    assert second == first
    tree: dict[str, Any] = first["tree"]
    return tree


def paths(tree: dict[str, Any]) -> list[str]:
    """Every folder path (with a trailing '/') and script path with its version."""
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        for s in node.get("scripts") or []:
            found.append(f"{s['path']}@{s.get('version', '?')}")
        for f in node.get("folders") or []:
            found.append(f"{f['path']}/")
            walk(f)

    walk(tree)
    return sorted(found)


async def test_every_change_of_the_owner_is_in_the_next_tree(alice: GraphQLClient) -> None:
    assert paths(await tree_twice(alice)) == []
    a = await folder(alice, "a")
    assert paths(await tree_twice(alice)) == ["a/"]
    b = await folder(alice, "b", a["id"])
    assert paths(await tree_twice(alice)) == ["a/", "a/b/"]
    s = await script(alice, "s.py", "x = 1\n", b["id"])
    assert paths(await tree_twice(alice)) == ["a/", "a/b/", "a/b/s.py@1"]
    await alice.data(UPDATE_SCRIPT, {"id": s["id"], "input": {"content": "x = 2\n"}})
    assert paths(await tree_twice(alice)) == ["a/", "a/b/", "a/b/s.py@2"]
    await alice.data(UPDATE_SCRIPT, {"id": s["id"], "input": {"description": "two"}})
    tree = await tree_twice(alice)
    assert tree["folders"][0]["folders"][0]["scripts"][0]["description"] == "two"
    await alice.data(UPDATE_SCRIPT, {"id": s["id"], "input": {"name": "t.py"}})
    assert paths(await tree_twice(alice)) == ["a/", "a/b/", "a/b/t.py@2"]
    await alice.data(REVERT, {"id": s["id"], "v": 1})
    assert paths(await tree_twice(alice)) == ["a/", "a/b/", "a/b/t.py@3"]
    await alice.data(MOVE_SCRIPT, {"id": s["id"], "f": a["id"]})
    assert paths(await tree_twice(alice)) == ["a/", "a/b/", "a/t.py@3"]
    await alice.data(RENAME_FOLDER, {"id": a["id"], "n": "c"})
    assert paths(await tree_twice(alice)) == ["c/", "c/b/", "c/t.py@3"]
    await alice.data(MOVE_FOLDER, {"id": b["id"], "p": None})
    assert paths(await tree_twice(alice)) == ["b/", "c/", "c/t.py@3"]
    await alice.data(DELETE_SCRIPT, {"id": s["id"]})
    assert paths(await tree_twice(alice)) == ["b/", "c/"]
    await script(alice, "top.sh", "true\n")
    assert paths(await tree_twice(alice)) == ["b/", "c/", "top.sh@1"]
    await alice.data(DELETE_FOLDER, {"id": a["id"]})
    assert paths(await tree_twice(alice)) == ["b/", "top.sh@1"]


async def test_an_editor_of_a_shared_folder_changes_the_owners_next_tree(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    team = await folder(alice, "team")
    await share(alice, team["id"], "EDITOR", bob)
    assert paths(await tree_twice(alice)) == ["team/"]
    made = await script(bob, "bobs.py", "x = 1\n", team["id"])
    assert paths(await tree_twice(alice)) == ["team/", "team/bobs.py@1"]
    await bob.data(UPDATE_SCRIPT, {"id": made["id"], "input": {"content": "x = 2\n"}})
    assert paths(await tree_twice(alice)) == ["team/", "team/bobs.py@2"]
    inner = await folder(bob, "inner", team["id"])
    assert paths(await tree_twice(alice)) == ["team/", "team/bobs.py@2", "team/inner/"]
    await bob.data(DELETE_FOLDER, {"id": inner["id"]})
    assert paths(await tree_twice(alice)) == ["team/", "team/bobs.py@2"]
    # Bob's own tree is his: none of this is in it.
    assert paths(await tree_twice(bob)) == []


async def test_an_unshare_empties_the_next_tree_of_a_token_held_to_the_folder(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    team = await folder(alice, "team")
    await script(alice, "a.py", "x = 1\n", team["id"])
    grant = await share(alice, team["id"], "VIEWER", bob)
    held, _ = await new_token(bob, "READ", folder_path=f"~{username(alice)}/team")
    assert paths(await tree_twice(held)) == ["team/", "team/a.py@1"]
    # The owner's change reaches the holder of another user's token too.
    await script(alice, "b.py", "x = 1\n", team["id"])
    assert paths(await tree_twice(held)) == ["team/", "team/a.py@1", "team/b.py@1"]
    await alice.data(UNSHARE, {"id": grant["id"]})
    assert paths(await tree_twice(held)) == []


async def test_leaving_a_group_empties_the_next_tree_of_a_held_token(
    admin: GraphQLClient, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    team = await folder(alice, "team")
    group_id = await group_of(admin, bob)
    await share(alice, team["id"], "VIEWER", group_id=group_id)
    held, _ = await new_token(bob, "READ", folder_path=f"~{username(alice)}/team")
    assert paths(await tree_twice(held)) == ["team/"]
    await admin.data(REMOVE_MEMBER, {"g": group_id, "u": uid(bob)})
    assert paths(await tree_twice(held)) == []


async def test_an_admin_sees_the_owners_next_change_in_their_tree(
    admin: GraphQLClient, alice: GraphQLClient
) -> None:
    query = TREE.replace("tree {", f'tree(ownerId: "{uid(alice)}") {{', 1)
    assert paths(await tree_twice(admin, query)) == []
    await folder(alice, "new")
    assert paths(await tree_twice(admin, query)) == ["new/"]


async def get_tree(client: GraphQLClient, query: str = TREE, **headers: str) -> httpx.Response:
    return await client.http.get(
        client.url, params={"query": query}, headers={**client.headers(), **headers}
    )


async def test_a_get_answers_304_while_the_tree_is_unchanged(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    await folder(alice, "a")
    first = await get_tree(alice)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    assert paths(first.json()["data"]["tree"]) == ["a/"]

    again = await get_tree(alice, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    # Another caller holding the same tag gets their own tree, not a 304.
    other = await get_tree(bob, **{"If-None-Match": etag})
    assert other.status_code == 200
    assert other.headers["etag"] != etag
    assert other.json()["data"]["tree"] == {"folders": [], "scripts": []}

    await folder(alice, "b")
    changed = await get_tree(alice, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert paths(changed.json()["data"]["tree"]) == ["a/", "b/"]
    assert (await get_tree(alice, **{"If-None-Match": changed.headers["etag"]})).status_code == 304


async def test_only_a_tree_alone_gets_an_etag(alice: GraphQLClient) -> None:
    me = await get_tree(alice, "{ me { id } }")
    assert me.status_code == 200 and "etag" not in me.headers
    mixed = await get_tree(alice, "{ me { id } tree { folders { name } } }")
    assert mixed.status_code == 200 and "etag" not in mixed.headers
    # A field the compiled plan does not answer: executed field by field, not kept.
    resolved = await get_tree(alice, "{ tree { scripts { name lastExecution { id } } } }")
    assert resolved.status_code == 200 and "etag" not in resolved.headers
    refused = await get_tree(alice.with_token(None))
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "etag" not in refused.headers
