"""API tokens: made by a signed-in person, shown once, stored as a hash;
honoured at every door (GraphQL over HTTP and WebSocket, the REST run path,
downloads) within their scopes and folder; refused once revoked or expired,
on the next request and on an open socket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.roles import Role
from models.teams import ApiToken, FolderGrant
from tests.support.client import GraphQLClient
from tests.support.tree import SCRIPT_BY_ID, folder, script
from tests.support.ws import error_codes, raw_socket

CREATE = """
mutation($n: String!, $s: [TokenScope!]!, $d: Int, $f: String) {
  createApiToken(name: $n, scopes: $s, expiresInDays: $d, folderPath: $f) {
    token apiToken { id name prefix scopes folderPath expiresAt lastUsedAt createdAt } }
}
"""
TOKENS = "{ apiTokens { id name prefix scopes folderPath expiresAt lastUsedAt } }"
REVOKE = "mutation($id: ID!) { revokeApiToken(id: $id) }"
ME = "{ me { id username } }"
CREATE_FOLDER = "mutation($n: String!, $p: ID) { createFolder(name: $n, parentId: $p) { id path } }"
RUN = "mutation($id: ID!) { runScript(input: {scriptId: $id}) { id } }"
EXECUTION = "query($id: ID!) { execution(id: $id) { id } }"
EXECUTIONS = "{ executions(first: 100) { id } }"
TREE = "{ tree { folders { name scripts { name } } scripts { name } } }"
CHANGE_PASSWORD = (
    'mutation { changePassword(currentPassword: "x", newPassword: "long enough now") }'
)
LIVE = "subscription { myExecutions { executionId status } }"
ECHO = "def main(data):\n    return data\n"


async def new_token(
    client: GraphQLClient, *scopes: str, days: int | None = None, folder_path: str | None = None
) -> tuple[GraphQLClient, dict[str, Any]]:
    """A client speaking through a new token of `client`'s, and the token's row."""
    data = await client.data(CREATE, {"n": "ci", "s": list(scopes), "d": days, "f": folder_path})
    made = data["createApiToken"]
    return client.with_token(made["token"]), made["apiToken"]


def code(error: dict[str, Any]) -> str:
    return str(error["extensions"]["code"])


async def test_a_token_is_shown_once_and_only_its_hash_is_stored(alice: GraphQLClient) -> None:
    data = await alice.data(CREATE, {"n": " deploy ", "s": ["RUN"], "d": 30, "f": None})
    token, row = data["createApiToken"]["token"], data["createApiToken"]["apiToken"]
    assert token.startswith(row["prefix"] + "_")
    assert row["prefix"].startswith("sbx_")
    assert (row["name"], row["scopes"], row["folderPath"]) == ("deploy", ["RUN"], None)
    assert row["lastUsedAt"] is None
    expires = datetime.fromisoformat(row["expiresAt"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)

    stored = await ApiToken.get(id=row["id"])
    secret = token.split("_", 2)[2]
    assert secret not in repr(stored.__dict__)
    assert token not in (stored.secret_hash, stored.prefix, stored.name)

    me = (await alice.with_token(token).data(ME))["me"]
    assert me["username"] == alice.user["username"]  # type: ignore[attr-defined]
    listed = (await alice.data(TOKENS))["apiTokens"]
    assert [t["prefix"] for t in listed] == [row["prefix"]]
    assert listed[0]["lastUsedAt"] is not None
    assert "token" not in listed[0]


async def test_every_door_honours_a_token(alice: GraphQLClient) -> None:
    await script(alice, "echo.py", ECHO)
    uploaded = await alice.upload(
        "mutation($file: Upload!) { uploadFile(file: $file) { key } }",
        {"file": None},
        {"variables.file": ("notes.txt", b"field notes", "text/plain")},
    )
    key = uploaded.json()["data"]["uploadFile"]["key"]
    runner, _ = await new_token(alice, "RUN")
    headers = runner.headers()

    rest = await alice.http.post(
        f"{alice.base_url}/api/v1/scripts/echo.py", json={"data": {"n": 1}}, headers=headers
    )
    assert (rest.status_code, rest.json().get("result")) == (200, {"n": 1}), rest.text
    download = await alice.http.get(f"{alice.base_url}/files/{key}", headers=headers)
    assert (download.status_code, download.content) == (200, b"field notes")
    async with raw_socket(alice.base_url, runner.token) as socket:
        await socket.send_operation("me", "query { me { username } }")
        answer = await socket.next_message()
    assert answer["type"] == "next", answer
    assert answer["payload"]["data"]["me"]["username"] == alice.user["username"]  # type: ignore[attr-defined]

    # A READ token downloads, but the REST path runs, so it needs RUN.
    reader, _ = await new_token(alice, "READ")
    refused = await alice.http.post(
        f"{alice.base_url}/api/v1/scripts/echo.py", json={"data": {}}, headers=reader.headers()
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "FORBIDDEN")
    download = await alice.http.get(f"{alice.base_url}/files/{key}", headers=reader.headers())
    assert download.status_code == 200


async def test_scopes_bound_what_a_token_does(alice: GraphQLClient) -> None:
    job = (await script(alice, "job.py", ECHO))["id"]
    reader, _ = await new_token(alice, "READ")
    runner, _ = await new_token(alice, "RUN")
    writer, _ = await new_token(alice, "WRITE")

    for client in (reader, writer):
        assert code(await client.error(RUN, {"id": job})) == "FORBIDDEN"
    for client in (reader, runner):
        assert code(await client.error(CREATE_FOLDER, {"n": "nope"})) == "FORBIDDEN"
    started = (await runner.data(RUN, {"id": job}))["runScript"]["id"]
    # RUN and WRITE include READ.
    assert (await runner.data(EXECUTION, {"id": started}))["execution"]["id"] == started
    assert (await writer.data(CREATE_FOLDER, {"n": "made"}))["createFolder"]["path"] == "made"
    assert [f["name"] for f in (await reader.data(TREE))["tree"]["folders"]] == ["made"]


async def test_tokens_never_make_tokens_or_change_the_password(
    alice: GraphQLClient, admin: GraphQLClient
) -> None:
    everything, row = await new_token(admin, "READ", "RUN", "WRITE", "ADMIN")
    for document, variables in (
        (CREATE, {"n": "child", "s": ["READ"]}),
        (REVOKE, {"id": row["id"]}),
        (CHANGE_PASSWORD, {}),
    ):
        assert code(await everything.error(document, variables)) == "FORBIDDEN"
    # An admin's powers need the ADMIN scope, and only an admin's token has it.
    assert (await everything.data("{ users(first: 1) { id } }"))["users"]
    admin_reader, _ = await new_token(admin, "READ")
    assert code(await admin_reader.error("{ users(first: 1) { id } }")) == "FORBIDDEN"
    error = await alice.error(CREATE, {"n": "root", "s": ["ADMIN"]})
    assert code(error) == "BAD_USER_INPUT"


async def test_revocation_and_expiry_take_effect_at_once(alice: GraphQLClient) -> None:
    held, row = await new_token(alice, "READ")
    assert (await held.data(ME))["me"]
    async with raw_socket(alice.base_url, held.token) as socket:
        await socket.send_operation("live", LIVE)
        # Answered in order: once the probe is, the subscription is live.
        await socket.send_operation("probe", "subscription { nope }")
        assert (await socket.next_message())["id"] == "probe"
        assert (await alice.data(REVOKE, {"id": row["id"]}))["revokeApiToken"] is True
        # A deadline against a hang: the socket re-checks within a second.
        close_code, before = await socket.closed_with(timeout=10)
    assert close_code == 4403
    assert before and before[0]["id"] == "live"
    assert error_codes(before[0]) == ["UNAUTHENTICATED"]
    assert code(await held.error(ME)) == "UNAUTHENTICATED"
    assert code(await alice.error(REVOKE, {"id": row["id"]})) == "NOT_FOUND"

    expiring, row = await new_token(alice, "READ", days=1)
    assert (await expiring.data(ME))["me"]
    await ApiToken.filter(id=row["id"]).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert code(await expiring.error(ME)) == "UNAUTHENTICATED"
    assert (await alice.data(TOKENS))["apiTokens"] == []


async def test_a_token_held_to_a_folder_reaches_only_its_subtree(alice: GraphQLClient) -> None:
    project = await folder(alice, "project")
    inner = await folder(alice, "inner", project["id"])
    inside = (await script(alice, "inside.py", ECHO, inner["id"]))["id"]
    outside = (await script(alice, "outside.py", ECHO))["id"]
    ran_outside = (await alice.data(RUN, {"id": outside}))["runScript"]["id"]

    held, row = await new_token(alice, "RUN", "WRITE", folder_path="project/inner")
    assert row["folderPath"] == "project/inner"
    assert (await alice.data(TOKENS))["apiTokens"][0]["folderPath"] == "project/inner"

    assert (await held.data(SCRIPT_BY_ID, {"id": outside}))["script"] is None
    assert (await held.data(SCRIPT_BY_ID, {"id": inside}))["script"]["path"] == (
        "project/inner/inside.py"
    )
    assert (await held.data(EXECUTION, {"id": ran_outside}))["execution"] is None
    assert code(await held.error(RUN, {"id": outside})) == "NOT_FOUND"
    ran_inside = (await held.data(RUN, {"id": inside}))["runScript"]["id"]
    assert [e["id"] for e in (await held.data(EXECUTIONS))["executions"]] == [ran_inside]
    # The tree shows the held folder at the top, and nothing beside it.
    tree = (await held.data(TREE))["tree"]
    assert tree == {
        "folders": [{"name": "inner", "scripts": [{"name": "inside.py"}]}],
        "scripts": [],
    }
    assert code(await held.error(CREATE_FOLDER, {"n": "top"})) == "FORBIDDEN"
    made = (await held.data(CREATE_FOLDER, {"n": "deeper", "p": inner["id"]}))["createFolder"]
    assert made["path"] == "project/inner/deeper"

    for path in ("nowhere", "project/inner/inside.py", "~nobody-here/project"):
        error = await alice.error(CREATE, {"n": "x", "s": ["READ"], "f": path})
        assert code(error) == "NOT_FOUND", error


async def test_a_token_held_to_a_folder_shared_with_its_owner(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    shared = await folder(alice, "shared")
    private = await folder(alice, "private")
    inside = (await script(alice, "inside.py", ECHO, shared["id"]))["id"]
    hidden = (await script(alice, "hidden.py", ECHO, private["id"]))["id"]
    # Sharing is made by its own mutations elsewhere; here, the grant's row.
    alices, bobs = alice.user, bob.user  # type: ignore[attr-defined]
    grant = await FolderGrant.create(
        folder_id=shared["id"], user_id=bobs["id"], role=Role.RUNNER, granted_by_id=alices["id"]
    )
    owner = alices["username"]

    held, row = await new_token(bob, "RUN", folder_path=f"~{owner}/shared")
    assert row["folderPath"] == f"~{owner}/shared"
    assert (await held.data(SCRIPT_BY_ID, {"id": inside}))["script"]["path"] == "shared/inside.py"
    assert (await held.data(SCRIPT_BY_ID, {"id": hidden}))["script"] is None
    tree = (await held.data(TREE))["tree"]
    assert tree == {
        "folders": [{"name": "shared", "scripts": [{"name": "inside.py"}]}],
        "scripts": [],
    }
    assert (await held.data(RUN, {"id": inside}))["runScript"]["id"]
    error = await bob.error(CREATE, {"n": "x", "s": ["READ"], "f": f"~{owner}/private"})
    assert code(error) == "NOT_FOUND"

    # The grant gone, the token reaches nothing of alice's.
    await grant.delete()
    assert (await held.data(SCRIPT_BY_ID, {"id": inside}))["script"] is None
    assert (await held.data(TREE))["tree"] == {"folders": [], "scripts": []}
