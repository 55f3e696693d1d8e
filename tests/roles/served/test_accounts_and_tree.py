"""Accounts and the script tree against `scriptbox serve`, in both shapes."""

from __future__ import annotations

from tests.support.client import PASSWORD, GraphQLClient, unique_username
from tests.support.tree import TREE, folder, script

REGISTER = """
mutation($u: String!, $p: String!) {
  register(username: $u, password: $p) { accessToken refreshToken user { id username } }
}
"""
LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { accessToken refreshToken user { username } }
}
"""
REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"
ME = "{ me { id username } }"


async def test_register_login_refresh_me(anon: GraphQLClient) -> None:
    name = unique_username("acct")
    registered = (await anon.data(REGISTER, {"u": name, "p": PASSWORD}))["register"]
    logged_in = (await anon.data(LOGIN, {"u": name, "p": PASSWORD}))["login"]
    me = (await anon.with_token(logged_in["accessToken"]).data(ME))["me"]
    assert me == {"id": registered["user"]["id"], "username": name}
    renewed = (await anon.data(REFRESH, {"t": logged_in["refreshToken"]}))["refreshToken"]
    assert (await anon.with_token(renewed["accessToken"]).data(ME))["me"]["username"] == name
    # Rotation: the refresh token just used is spent.
    reused = await anon.error(REFRESH, {"t": logged_in["refreshToken"]})
    assert reused["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await anon.error(ME))["extensions"]["code"] == "UNAUTHENTICATED"


async def test_folders_and_scripts_in_one_tree_request(alice: GraphQLClient) -> None:
    geology = await folder(alice, "geology")
    cores = await folder(alice, "cores", geology["id"])
    await script(alice, "analysis.py", "def main(data):\n    return data\n", geology["id"])
    await script(alice, "top.py", "def main(data):\n    return 1\n")
    tree = (await alice.data(TREE))["tree"]
    assert tree["scripts"] == [{"name": "top.py", "path": "top.py"}]
    [top] = tree["folders"]
    assert top["path"] == "geology"
    assert top["scripts"] == [{"name": "analysis.py", "path": "geology/analysis.py"}]
    assert [f["path"] for f in top["folders"]] == ["geology/cores"]
    renamed = await alice.data(
        'mutation($id: ID!) { renameFolder(id: $id, name: "samples") { path } }',
        {"id": cores["id"]},
    )
    assert renamed["renameFolder"]["path"] == "geology/samples"


async def test_a_shell_script_can_be_created(alice: GraphQLClient) -> None:
    # The served process runs uvloop; the syntax check must work there too.
    created = await script(alice, "hello.sh", "echo hi\n")
    assert (created["path"], created["language"]) == ("hello.sh", "SHELL")
    refused = await alice.error(
        "mutation($i: CreateScriptInput!) { createScript(input: $i) { id } }",
        {"i": {"name": "bad.sh", "content": "if then\n"}},
    )
    assert refused["extensions"]["code"] == "INVALID_SCRIPT"
