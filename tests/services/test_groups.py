"""Groups (services/groups.py): admins make them and their members; a member
sees their groups and the names of their secrets; a folder shared with a
group is shared with its members until they leave or it goes; a group's
secrets reach the runs of members who have none of their own by that name."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient, registered
from tests.support.runs import RUN
from tests.support.sharing import (
    ADD_MEMBER,
    CREATE_GROUP,
    DELETE_GROUP,
    DELETE_GROUP_SECRET,
    GROUPS,
    REMOVE_MEMBER,
    SET_GROUP_SECRET,
    code_of,
    group_of,
    share,
    uid,
)
from tests.support.tree import folder, script

FOLDER = "query($id: ID!) { folder(id: $id) { id } }"
SET_SECRET = "mutation($n: String!, $v: String!) { setSecret(name: $n, value: $v) { name } }"
# The value comes back reversed: run output masks secret values, results
# are compared here.
ECHO_SECRET = "import os\ndef main(data):\n    return {'reversed': os.environ['TEAM_KEY'][::-1]}\n"
TEAM_VALUE = "team-value-1234"


async def run_as(client: GraphQLClient) -> dict[str, Any]:
    """A run, by `client`, of a script of theirs that needs TEAM_KEY."""
    made = await script(client, "echo.py", ECHO_SECRET, secrets=["TEAM_KEY"], replace=True)
    variables = {"input": {"scriptId": made["id"], "wait": True}}
    result: dict[str, Any] = (await client.data(RUN, variables))["runScript"]
    return result


async def test_admins_make_groups_and_members_see_their_own(
    admin: GraphQLClient, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    geology = await group_of(admin, alice, bob)
    other = await group_of(admin, bob)
    mine = (await alice.data(GROUPS))["groups"]
    assert [g["id"] for g in mine] == [geology]
    assert {m["id"] for m in mine[0]["members"]} == {uid(alice), uid(bob)}
    assert {g["id"] for g in (await bob.data(GROUPS))["groups"]} == {geology, other}
    everyone = {g["id"] for g in (await admin.data(GROUPS))["groups"]}
    assert {geology, other} <= everyone
    # The same name twice is refused.
    name = next(g["name"] for g in mine)
    assert code_of(await admin.error(CREATE_GROUP, {"n": name})) == "ALREADY_EXISTS"
    assert code_of(await admin.error(CREATE_GROUP, {"n": "  "})) == "BAD_USER_INPUT"
    # Adding twice is harmless; unknown ids name nothing.
    again = (await admin.data(ADD_MEMBER, {"g": geology, "u": uid(bob)}))["addGroupMember"]
    assert len(again["members"]) == 2
    missing = "00000000-0000-0000-0000-000000000000"
    assert code_of(await admin.error(ADD_MEMBER, {"g": geology, "u": missing})) == "NOT_FOUND"
    assert code_of(await admin.error(ADD_MEMBER, {"g": missing, "u": uid(bob)})) == "NOT_FOUND"


async def test_only_admins_change_groups(
    admin: GraphQLClient, alice: GraphQLClient, bob: GraphQLClient, anon: GraphQLClient
) -> None:
    group = await group_of(admin, alice)
    carol = await registered(anon, "carol")
    assert code_of(await alice.error(CREATE_GROUP, {"n": "mine"})) == "FORBIDDEN"
    # A member may not add or remove members, nor delete the group.
    for client in (alice, bob):
        refused = await client.error(ADD_MEMBER, {"g": group, "u": uid(carol)})
        assert code_of(refused) == "FORBIDDEN"
        refused = await client.error(REMOVE_MEMBER, {"g": group, "u": uid(alice)})
        assert code_of(refused) == "FORBIDDEN"
        assert code_of(await client.error(DELETE_GROUP, {"id": group})) == "FORBIDDEN"
        refused = await client.error(SET_GROUP_SECRET, {"g": group, "n": "X", "v": "y"})
        assert code_of(refused) == "FORBIDDEN"
        refused = await client.error(DELETE_GROUP_SECRET, {"g": group, "n": "X"})
        assert code_of(refused) == "FORBIDDEN"
    members = (await alice.data(GROUPS))["groups"][0]["members"]
    assert [m["id"] for m in members] == [uid(alice)]


async def test_leaving_a_group_or_its_deletion_takes_its_folders_away(
    admin: GraphQLClient, alice: GraphQLClient, bob: GraphQLClient, anon: GraphQLClient
) -> None:
    carol = await registered(anon, "carol")
    geology = (await folder(alice, "geology"))["id"]
    group = await group_of(admin, bob, carol)
    await share(alice, geology, "VIEWER", group_id=group)
    assert (await bob.data(FOLDER, {"id": geology}))["folder"] is not None
    left = (await admin.data(REMOVE_MEMBER, {"g": group, "u": uid(bob)}))["removeGroupMember"]
    assert [m["id"] for m in left["members"]] == [uid(carol)]
    assert (await bob.data(FOLDER, {"id": geology}))["folder"] is None
    assert (await bob.data(GROUPS))["groups"] == []
    assert (await carol.data(FOLDER, {"id": geology}))["folder"] is not None
    assert (await admin.data(DELETE_GROUP, {"id": group}))["deleteGroup"] is True
    assert (await carol.data(FOLDER, {"id": geology}))["folder"] is None
    grants = "query($id: ID!) { folder(id: $id) { grants { id } } }"
    assert (await alice.data(grants, {"id": geology}))["folder"]["grants"] == []


async def test_group_secrets_reach_members_runs_by_name_only(
    admin: GraphQLClient, alice: GraphQLClient, bob: GraphQLClient, anon: GraphQLClient
) -> None:
    carol = await registered(anon, "carol")
    group = await group_of(admin, alice, bob)
    named = await admin.data(SET_GROUP_SECRET, {"g": group, "n": "TEAM_KEY", "v": "old"})
    assert named["setGroupSecret"]["secretNames"] == ["TEAM_KEY"]
    await admin.data(SET_GROUP_SECRET, {"g": group, "n": "TEAM_KEY", "v": TEAM_VALUE})
    bad = await admin.error(SET_GROUP_SECRET, {"g": group, "n": "lower", "v": "x"})
    assert code_of(bad) == "BAD_USER_INPUT"
    listed = await alice.data(GROUPS)
    assert listed["groups"][0]["secretNames"] == ["TEAM_KEY"]
    assert TEAM_VALUE not in str(listed)
    # A member's own secret wins over the group's.
    await bob.data(SET_SECRET, {"n": "TEAM_KEY", "v": "bobs-own"})

    alices = await run_as(alice)
    assert alices["status"] == "SUCCEEDED", alices
    assert alices["result"] == {"reversed": TEAM_VALUE[::-1]}
    assert (await run_as(bob))["result"] == {"reversed": "bobs-own"[::-1]}
    carols = await run_as(carol)
    assert carols["status"] == "FAILED"
    assert carols["error"]["code"] == "MISSING_SECRET"
    # Gone from the group: alice's runs lack it too.
    deleted = await admin.data(DELETE_GROUP_SECRET, {"g": group, "n": "TEAM_KEY"})
    assert deleted["deleteGroupSecret"] is True
    assert (await alice.data(GROUPS))["groups"][0]["secretNames"] == []
    assert (await run_as(alice))["error"]["code"] == "MISSING_SECRET"
