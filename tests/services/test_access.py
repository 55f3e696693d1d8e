"""Who sees which rows (services/access.py): a user their own, an admin every
user's, but files and secrets only ever their owner's, and an artifact
whoever sees its execution. Another user's folder, script, tree, execution,
schedule, file or artifact behaves as if it did not exist, and rows an admin
makes or moves stay in their owner's tree."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.tree import SCRIPT_BY_ID, folder, script

ME = "{ me { id } }"
FOLDER = "query($id: ID!) { folder(id: $id) { id name } }"
TREE_OF = "query($o: ID) { tree(ownerId: $o) { folders { name } scripts { name } } }"
CREATE_FOLDER = "mutation($n: String!, $p: ID) { createFolder(name: $n, parentId: $p) { id path } }"
CREATE_SCRIPT = "mutation($i: CreateScriptInput!) { createScript(input: $i) { id path } }"
MOVE_SCRIPT = "mutation($id: ID!, $to: ID) { moveScript(id: $id, folderId: $to) { id path } }"
MOVE_FOLDER = "mutation($id: ID!, $to: ID) { moveFolder(id: $id, parentId: $to) { id path } }"
RUN = "mutation($id: ID!) { runScript(input: {scriptId: $id}) { id } }"
EXECUTIONS = "{ executions(first: 100) { id } }"
EXECUTION = "query($id: ID!) { execution(id: $id) { id } }"
SCHEDULES = "{ schedules { id } }"
SCHEDULE = "query($id: ID!) { schedule(id: $id) { id } }"
CREATE_SCHEDULE = """
mutation($id: ID!) {
  createSchedule(input: {scriptId: $id, cron: "0 0 1 1 *", enabled: false}) { id }
}
"""


async def user_id(client: GraphQLClient) -> str:
    return str((await client.data(ME))["me"]["id"])


def names(tree: dict[str, Any]) -> tuple[list[str], list[str]]:
    return [f["name"] for f in tree["folders"]], [s["name"] for s in tree["scripts"]]


async def things_of(client: GraphQLClient, tag: str) -> dict[str, str]:
    box = (await folder(client, f"{tag}-box"))["id"]
    kept = (await script(client, f"{tag}.py", "print('hi')\n", box))["id"]
    execution = (await client.data(RUN, {"id": kept}))["runScript"]["id"]
    schedule = (await client.data(CREATE_SCHEDULE, {"id": kept}))["createSchedule"]["id"]
    return {"folder": box, "script": kept, "execution": execution, "schedule": schedule}


async def test_a_user_sees_only_their_own_rows(alice: GraphQLClient, bob: GraphQLClient) -> None:
    alices = await things_of(alice, "alice")
    bobs = await things_of(bob, "bob")

    assert (await bob.data(FOLDER, {"id": alices["folder"]}))["folder"] is None
    assert (await bob.data(SCRIPT_BY_ID, {"id": alices["script"]}))["script"] is None
    assert (await bob.data(EXECUTION, {"id": alices["execution"]}))["execution"] is None
    assert (await bob.data(SCHEDULE, {"id": alices["schedule"]}))["schedule"] is None
    assert [e["id"] for e in (await bob.data(EXECUTIONS))["executions"]] == [bobs["execution"]]
    assert [s["id"] for s in (await bob.data(SCHEDULES))["schedules"]] == [bobs["schedule"]]

    # Their own rows, by the same queries.
    assert (await bob.data(FOLDER, {"id": bobs["folder"]}))["folder"]["id"] == bobs["folder"]
    shown = (await bob.data(SCRIPT_BY_ID, {"id": bobs["script"]}))["script"]
    assert shown["path"] == "bob-box/bob.py"

    # Another user's tree is not there; one's own id is one's own tree.
    error = await bob.error(TREE_OF, {"o": await user_id(alice)})
    assert (error["extensions"]["code"], error["message"]) == ("NOT_FOUND", "User not found.")
    own = (await bob.data(TREE_OF, {"o": await user_id(bob)}))["tree"]
    assert names(own) == (["bob-box"], [])
    assert names((await bob.data(TREE_OF, {"o": None}))["tree"]) == (["bob-box"], [])


async def test_an_admin_sees_every_users_rows(
    alice: GraphQLClient, bob: GraphQLClient, admin: GraphQLClient
) -> None:
    alices = await things_of(alice, "alice")
    bobs = await things_of(bob, "bob")

    assert (await admin.data(FOLDER, {"id": alices["folder"]}))["folder"]["name"] == "alice-box"
    shown = (await admin.data(SCRIPT_BY_ID, {"id": bobs["script"]}))["script"]
    assert shown["path"] == "bob-box/bob.py"
    seen = {e["id"] for e in (await admin.data(EXECUTIONS))["executions"]}
    assert {alices["execution"], bobs["execution"]} <= seen
    scheduled = {s["id"] for s in (await admin.data(SCHEDULES))["schedules"]}
    assert {alices["schedule"], bobs["schedule"]} <= scheduled

    tree = (await admin.data(TREE_OF, {"o": await user_id(alice)}))["tree"]
    assert names(tree) == (["alice-box"], [])
    assert names((await admin.data(TREE_OF, {"o": await user_id(admin)}))["tree"]) == ([], [])
    error = await admin.error(TREE_OF, {"o": "not-a-user-id"})
    assert (error["extensions"]["code"], error["message"]) == ("NOT_FOUND", "User not found.")


async def test_rows_an_admin_makes_in_a_users_folder_are_that_users(
    alice: GraphQLClient, admin: GraphQLClient
) -> None:
    box = (await folder(alice, "box"))["id"]
    made = (await admin.data(CREATE_FOLDER, {"n": "inner", "p": box}))["createFolder"]
    assert made["path"] == "box/inner"
    placed = await admin.data(
        CREATE_SCRIPT, {"i": {"name": "by_admin.py", "content": "print(1)\n", "folderId": box}}
    )
    assert placed["createScript"]["path"] == "box/by_admin.py"

    shown = (await alice.data(SCRIPT_BY_ID, {"id": placed["createScript"]["id"]}))["script"]
    assert shown["path"] == "box/by_admin.py"
    assert (await alice.data(FOLDER, {"id": made["id"]}))["folder"]["name"] == "inner"
    assert names((await admin.data(TREE_OF, {"o": None}))["tree"]) == ([], [])


async def test_rows_move_only_within_their_owners_tree(
    alice: GraphQLClient, bob: GraphQLClient, admin: GraphQLClient
) -> None:
    box = (await folder(alice, "box"))["id"]
    other = (await folder(alice, "other"))["id"]
    kept = (await script(alice, "kept.py", "print(1)\n", box))["id"]
    elsewhere = (await folder(bob, "bobs"))["id"]
    admins = (await folder(admin, "admins"))["id"]

    for mover, target in ((admin, elsewhere), (admin, admins), (alice, elsewhere)):
        error = await mover.error(MOVE_SCRIPT, {"id": kept, "to": target})
        assert (error["extensions"]["code"], error["message"]) == ("NOT_FOUND", "Folder not found.")
        error = await mover.error(MOVE_FOLDER, {"id": other, "to": target})
        assert (error["extensions"]["code"], error["message"]) == ("NOT_FOUND", "Folder not found.")
    assert (await alice.data(SCRIPT_BY_ID, {"id": kept}))["script"]["path"] == "box/kept.py"

    # Within the owner's tree an admin moves them like the owner does.
    moved = (await admin.data(MOVE_SCRIPT, {"id": kept, "to": other}))["moveScript"]
    assert moved["path"] == "other/kept.py"
    nested = (await admin.data(MOVE_FOLDER, {"id": other, "to": box}))["moveFolder"]
    assert nested["path"] == "box/other"
    assert (await alice.data(MOVE_SCRIPT, {"id": kept, "to": None}))["moveScript"]["path"] == (
        "kept.py"
    )


async def test_an_id_that_is_not_one_names_nothing(alice: GraphQLClient) -> None:
    assert (await alice.data(FOLDER, {"id": "not-an-id"}))["folder"] is None
    assert (await alice.data(SCRIPT_BY_ID, {"id": "not-an-id"}))["script"] is None
    error = await alice.error(MOVE_SCRIPT, {"id": "not-an-id", "to": None})
    assert (error["extensions"]["code"], error["message"]) == ("NOT_FOUND", "Script not found.")
    error = await alice.error(CREATE_FOLDER, {"n": "x", "p": "not-an-id"})
    assert (error["extensions"]["code"], error["message"]) == ("NOT_FOUND", "Folder not found.")


UPLOAD = "mutation($file: Upload!) { uploadFile(file: $file) { key } }"
FILES = "{ files { key } }"
FILE = "query($k: String!) { file(key: $k) { key } }"
DELETE_FILE = "mutation($k: String!) { deleteFile(key: $k) }"
SET_SECRET = 'mutation { setSecret(name: "ALICE_ONLY", value: "v") { name } }'
SECRETS = "{ secrets { name } }"
RUN_WRITING_AN_ARTIFACT = """
mutation($id: ID!) { runScript(input: {scriptId: $id, wait: true}) {
  id status artifacts { name } } }
"""


async def test_files_and_secrets_are_their_owners_even_to_an_admin(
    alice: GraphQLClient, admin: GraphQLClient
) -> None:
    uploaded = await alice.upload(
        UPLOAD, {"file": None}, {"variables.file": ("notes.txt", b"mine", "text/plain")}
    )
    key = uploaded.json()["data"]["uploadFile"]["key"]
    await alice.data(SET_SECRET)

    assert (await admin.data(FILES))["files"] == []
    assert (await admin.data(FILE, {"k": key}))["file"] is None
    download = await admin.http.get(f"{admin.base_url}/files/{key}", headers=admin.headers())
    assert download.status_code == 404
    assert download.json()["errors"][0] == {
        "message": f"No file with key '{key}'.",
        "extensions": {"code": "NOT_FOUND"},
    }
    error = await admin.error(DELETE_FILE, {"k": key})
    assert (error["extensions"]["code"], error["message"]) == (
        "NOT_FOUND",
        f"No file with key '{key}'.",
    )
    assert (await admin.data(SECRETS))["secrets"] == []

    # The owner's, untouched.
    assert (await alice.data(FILE, {"k": key}))["file"] == {"key": key}
    assert (await alice.data(SECRETS))["secrets"] == [{"name": "ALICE_ONLY"}]


async def test_an_artifact_is_seen_by_whoever_sees_its_execution(
    alice: GraphQLClient, bob: GraphQLClient, admin: GraphQLClient
) -> None:
    content = (
        "import os\ndef main(data):\n    os.makedirs('/job/out', exist_ok=True)\n"
        "    open('/job/out/a.txt', 'w').write('made')\n"
    )
    made = (await script(alice, "art.py", content))["id"]
    done = (await alice.data(RUN_WRITING_AN_ARTIFACT, {"id": made}))["runScript"]
    assert (done["status"], done["artifacts"]) == ("SUCCEEDED", [{"name": "a.txt"}]), done

    async def fetch(client: GraphQLClient, execution_id: str, name: str) -> tuple[int, Any]:
        url = f"{client.base_url}/artifacts/{execution_id}/{name}"
        response = await client.http.get(url, headers=client.headers())
        if response.status_code == 200:
            return 200, response.content
        return response.status_code, response.json()["errors"][0]

    not_found = {"message": "Artifact not found.", "extensions": {"code": "NOT_FOUND"}}
    assert await fetch(alice, done["id"], "a.txt") == (200, b"made")
    assert await fetch(admin, done["id"], "a.txt") == (200, b"made")
    assert await fetch(bob, done["id"], "a.txt") == (404, not_found)
    assert await fetch(alice, done["id"], "b.txt") == (404, not_found)
    assert await fetch(alice, "not-an-id", "a.txt") == (404, not_found)
