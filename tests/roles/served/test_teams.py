"""API tokens and shared folders against `scriptbox serve`, in both shapes:
software calls a script by path with a token; a colleague runs a shared
script by `~owner/` path; revoking and unsharing take effect."""

from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.tree import folder, script

CREATE_TOKEN = """
mutation($n: String!, $s: [TokenScope!]!) {
  createApiToken(name: $n, scopes: $s) { token apiToken { id prefix scopes } }
}
"""
SHARE = """
mutation($f: ID!, $u: ID!, $r: Role!) {
  shareFolder(folderId: $f, userId: $u, role: $r) { id role }
}
"""
RUN_BY_PATH = """
mutation($p: String!) { runScript(input: {path: $p, input: {n: 4}, wait: true}) {
  status result } }
"""


async def test_a_token_runs_a_script_by_path_until_revoked(alice: GraphQLClient) -> None:
    geology = await folder(alice, "geology")
    await script(alice, "sq.py", "def main(data):\n    return data['n'] ** 2\n", geology["id"])
    made = (await alice.data(CREATE_TOKEN, {"n": "ci", "s": ["RUN"]}))["createApiToken"]
    token = made["token"]
    assert token.startswith("sbx_") and made["apiToken"]["prefix"] in token
    url = f"{alice.base_url}/api/v1/scripts/geology/sq.py"
    headers = {"Authorization": f"Bearer {token}"}
    response = await alice.http.post(url, json={"data": {"n": 7}}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["result"] == 49
    # A RUN token reads, but cannot write.
    refused = await alice.with_token(token).error('mutation { createFolder(name: "x") { id } }')
    assert refused["extensions"]["code"] == "FORBIDDEN"

    revoke = "mutation($id: ID!) { revokeApiToken(id: $id) }"
    await alice.data(revoke, {"id": made["apiToken"]["id"]})
    after = await alice.http.post(url, json={"data": {"n": 7}}, headers=headers)
    assert (after.status_code, after.json()["error"]["code"]) == (401, "UNAUTHENTICATED")


async def test_a_shared_script_runs_by_owner_path_until_unshared(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    lab = await folder(alice, "lab")
    await script(alice, "sq.py", "def main(data):\n    return data['n'] ** 2\n", lab["id"])
    alice_name = (await alice.data("{ me { username } }"))["me"]["username"]
    bob_id = (await bob.data("{ me { id } }"))["me"]["id"]
    path = f"~{alice_name}/lab/sq.py"

    hidden = await bob.error(RUN_BY_PATH, {"p": path})
    assert hidden["extensions"]["code"] == "NOT_FOUND"

    grant = (await alice.data(SHARE, {"f": lab["id"], "u": bob_id, "r": "RUNNER"}))["shareFolder"]
    shared = await bob.data("{ sharedWithMe { name myRole owner { username } } }")
    assert shared["sharedWithMe"] == [
        {"name": "lab", "myRole": "RUNNER", "owner": {"username": alice_name}}
    ]
    ran = (await bob.data(RUN_BY_PATH, {"p": path}))["runScript"]
    assert (ran["status"], ran["result"]) == ("SUCCEEDED", 16)
    # A runner may not change the script.
    edit = await bob.error(
        'mutation($p: ID!) { createScript(input: {name: "new.py", folderId: $p, '
        'content: "x = 1\\n"}) { id } }',
        {"p": lab["id"]},
    )
    assert edit["extensions"]["code"] == "FORBIDDEN"

    await alice.data("mutation($g: ID!) { unshareFolder(grantId: $g) }", {"g": grant["id"]})
    gone = await bob.error(RUN_BY_PATH, {"p": path})
    assert gone["extensions"]["code"] == "NOT_FOUND"
