"""What an admin may change: every user's folders, scripts and executions
(README, "Operator commands"). Another ordinary user gets NOT_FOUND for the
same ids, as if they did not exist, and changes nothing."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.tree import SCRIPT_BY_ID, UPDATE_SCRIPT, folder, script

RENAME_FOLDER = "mutation($id: ID!, $n: String!) { renameFolder(id: $id, name: $n) { id name } }"
MOVE_SCRIPT = "mutation($id: ID!, $to: ID) { moveScript(id: $id, folderId: $to) { id path } }"
DELETE_SCRIPT = "mutation($id: ID!) { deleteScript(id: $id) }"
DELETE_FOLDER = "mutation($id: ID!) { deleteFolder(id: $id) }"
RUN = "mutation($id: ID!) { runScript(input: {scriptId: $id}) { id } }"
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { id status } }"
EXECUTION = "query($id: ID!) { execution(id: $id) { id status } }"
TREE = "{ tree { folders { name scripts { name } } scripts { name } } }"
LONG = "import time\ntime.sleep(60)\n"


async def alices_things(alice: GraphQLClient) -> tuple[str, str, str]:
    box = (await folder(alice, "box"))["id"]
    kept = await script(alice, "kept.py", "print('alice')\n", box)
    running = await script(alice, "long.py", LONG)
    execution = (await alice.data(RUN, {"id": running["id"]}))["runScript"]["id"]
    return box, kept["id"], execution


async def test_another_user_cannot_change_them(alice: GraphQLClient, bob: GraphQLClient) -> None:
    box, kept, execution = await alices_things(alice)
    attempts: list[tuple[str, dict[str, Any]]] = [
        (UPDATE_SCRIPT, {"id": kept, "input": {"content": "print('bob')\n"}}),
        (RENAME_FOLDER, {"id": box, "n": "bobs"}),
        (MOVE_SCRIPT, {"id": kept, "to": None}),
        (CANCEL, {"id": execution}),
        (DELETE_SCRIPT, {"id": kept}),
        (DELETE_FOLDER, {"id": box}),
    ]
    for document, variables in attempts:
        error = await bob.error(document, variables)
        assert error["extensions"]["code"] == "NOT_FOUND", (document, error)
    shown = (await alice.data(SCRIPT_BY_ID, {"id": kept}))["script"]
    unchanged = ("print('alice')\n", "box/kept.py", 1)
    assert (shown["content"], shown["path"], shown["version"]) == unchanged
    assert (await alice.data(EXECUTION, {"id": execution}))["execution"]["status"] != "CANCELLED"
    await alice.data(CANCEL, {"id": execution})


async def test_an_admin_can_change_them(alice: GraphQLClient, admin: GraphQLClient) -> None:
    box, kept, execution = await alices_things(alice)
    updated = await admin.data(UPDATE_SCRIPT, {"id": kept, "input": {"content": "print('ad')\n"}})
    assert updated["updateScript"]["version"] == 2
    assert (await admin.data(RENAME_FOLDER, {"id": box, "n": "boxed"}))["renameFolder"]["name"]
    moved = (await admin.data(MOVE_SCRIPT, {"id": kept, "to": None}))["moveScript"]
    assert moved["path"] == "kept.py"
    cancelled = (await admin.data(CANCEL, {"id": execution}))["cancelExecution"]
    assert cancelled["id"] == execution

    # Alice sees each change in her own tree.
    shown = (await alice.data(SCRIPT_BY_ID, {"id": kept}))["script"]
    assert (shown["content"], shown["path"]) == ("print('ad')\n", "kept.py")
    assert (await alice.data(EXECUTION, {"id": execution}))["execution"]["status"] == "CANCELLED"
    assert (await admin.data(DELETE_SCRIPT, {"id": kept}))["deleteScript"] is True
    assert (await admin.data(DELETE_FOLDER, {"id": box}))["deleteFolder"] is True
    tree = (await alice.data(TREE))["tree"]
    assert tree["folders"] == []
    assert [s["name"] for s in tree["scripts"]] == ["long.py"]
