"""Sharing folders (services/sharing.py): grants and their rules, nested
grants, what bob reaches of alice's tree through sharedWithMe, moves in and
out of a shared subtree, and sockets that lose what they followed. The
role-by-role table is tests/services/test_sharing_matrix.py."""

from __future__ import annotations

import asyncio
import time

import pytest

from harness.sql_counter import count_sql
from tests.support.client import GraphQLClient, registered
from tests.support.runs import UPDATES
from tests.support.servers import Service
from tests.support.sharing import (
    SHARE,
    SHARED_WITH_ME,
    UNSHARE,
    code_of,
    group_of,
    share,
    uid,
    username,
)
from tests.support.tree import folder, script
from tests.support.ws import error_codes, raw_socket

FOLDER = "query($id: ID!) { folder(id: $id) { id myRole grants { id role user { id } } } }"
SCRIPT = "query($id: ID!) { script(id: $id) { id path owner { id } } }"
CREATE_FOLDER = "mutation($n: String!, $p: ID) { createFolder(name: $n, parentId: $p) { id } }"
MOVE_SCRIPT = "mutation($id: ID!, $to: ID) { moveScript(id: $id, folderId: $to) { id } }"
MOVE_FOLDER = "mutation($id: ID!, $to: ID) { moveFolder(id: $id, parentId: $to) { id } }"
RUN = "mutation($id: ID!) { runScript(input: {scriptId: $id, wait: true}) { id status } }"
CODE = "def main(data):\n    return data\n"


async def test_sharing_again_changes_the_role_of_the_same_grant(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    geology = (await folder(alice, "geology"))["id"]
    first = await share(alice, geology, "VIEWER", user=bob)
    assert first["role"] == "VIEWER" and first["user"]["id"] == uid(bob)
    assert first["grantedBy"]["id"] == uid(alice) and first["folder"]["id"] == geology
    again = await share(alice, geology, "EDITOR", user=bob)
    assert again["id"] == first["id"] and again["role"] == "EDITOR"
    seen = (await alice.data(FOLDER, {"id": geology}))["folder"]
    assert seen["grants"] == [{"id": first["id"], "role": "EDITOR", "user": {"id": uid(bob)}}]
    # The grantee sees their role, not who else the folder is shared with.
    assert (await bob.data(FOLDER, {"id": geology}))["folder"] == {
        "id": geology,
        "myRole": "EDITOR",
        "grants": [],
    }
    assert seen["myRole"] == "EDITOR"
    assert (await bob.data(CREATE_FOLDER, {"n": "made", "p": geology}))["createFolder"]["id"]
    # Weaker again: the change holds at once.
    weaker = await share(alice, geology, "VIEWER", user=bob)
    assert weaker["id"] == first["id"] and weaker["role"] == "VIEWER"
    assert code_of(await bob.error(CREATE_FOLDER, {"n": "more", "p": geology})) == "FORBIDDEN"


async def test_grants_need_one_grantee_other_than_the_owner(
    alice: GraphQLClient, bob: GraphQLClient, admin: GraphQLClient
) -> None:
    geology = (await folder(alice, "geology"))["id"]
    group = await group_of(admin, bob)
    for variables in (
        {"f": geology, "r": "VIEWER", "u": uid(alice)},
        {"f": geology, "r": "VIEWER"},
        {"f": geology, "r": "VIEWER", "u": uid(bob), "g": group},
        {"f": geology, "r": "VIEWER", "u": uid(bob), "n": username(bob)},
        {"f": geology, "r": "VIEWER", "n": username(alice)},
    ):
        assert code_of(await alice.error(SHARE, variables)) == "BAD_USER_INPUT"
    missing = "00000000-0000-0000-0000-000000000000"
    assert code_of(await alice.error(SHARE, {"f": geology, "r": "VIEWER", "u": missing})) == (
        "NOT_FOUND"
    )
    assert code_of(await alice.error(SHARE, {"f": geology, "r": "VIEWER", "g": missing})) == (
        "NOT_FOUND"
    )
    assert code_of(await alice.error(SHARE, {"f": geology, "r": "VIEWER", "n": "nobody"})) == (
        "NOT_FOUND"
    )
    # A stranger's folder names nothing; an admin shares anyone's.
    assert code_of(await bob.error(SHARE, {"f": geology, "r": "VIEWER", "u": uid(bob)})) == (
        "NOT_FOUND"
    )
    # People know their colleagues by name, in any case.
    by_name = await alice.data(SHARE, {"f": geology, "r": "VIEWER", "n": username(bob).upper()})
    assert by_name["shareFolder"]["user"]["id"] == uid(bob)
    by_admin = (await admin.data(SHARE, {"f": geology, "r": "RUNNER", "g": group}))["shareFolder"]
    assert by_admin["group"]["id"] == group
    listed = (await admin.data(FOLDER, {"id": geology}))["folder"]["grants"]
    assert [grant["id"] for grant in listed] == [by_name["shareFolder"]["id"], by_admin["id"]]


async def test_only_the_owner_or_an_admin_takes_a_grant_back(
    alice: GraphQLClient, bob: GraphQLClient, anon: GraphQLClient, admin: GraphQLClient
) -> None:
    carol = await registered(anon, "carol")
    geology = (await folder(alice, "geology"))["id"]
    to_bob = await share(alice, geology, "EDITOR", user=bob)
    to_carol = await share(alice, geology, "VIEWER", user=carol)
    assert code_of(await bob.error(UNSHARE, {"id": to_carol["id"]})) == "FORBIDDEN"
    stranger = await registered(anon, "dave")
    assert code_of(await stranger.error(UNSHARE, {"id": to_bob["id"]})) == "NOT_FOUND"
    assert (await alice.data(UNSHARE, {"id": to_carol["id"]}))["unshareFolder"] is True
    assert (await carol.data(FOLDER, {"id": geology}))["folder"] is None
    assert (await admin.data(UNSHARE, {"id": to_bob["id"]}))["unshareFolder"] is True
    assert (await bob.data(FOLDER, {"id": geology}))["folder"] is None
    assert code_of(await alice.error(UNSHARE, {"id": to_bob["id"]})) == "NOT_FOUND"


async def test_nested_grants_the_strongest_wins(
    alice: GraphQLClient, bob: GraphQLClient, admin: GraphQLClient
) -> None:
    geology = (await folder(alice, "geology"))["id"]
    rocks = (await folder(alice, "rocks", geology))["id"]
    deep = (await folder(alice, "deep", rocks))["id"]
    top = (await script(alice, "top.py", CODE, geology))["id"]
    inner = (await script(alice, "inner.py", CODE, deep))["id"]
    await share(alice, geology, "VIEWER", user=bob)
    await share(alice, rocks, "EDITOR", user=bob)
    # Editor below, viewer above.
    assert (await bob.data(CREATE_FOLDER, {"n": "new", "p": deep}))["createFolder"]["id"]
    assert code_of(await bob.error(CREATE_FOLDER, {"n": "new", "p": geology})) == "FORBIDDEN"
    assert (await bob.data(FOLDER, {"id": deep}))["folder"]["myRole"] == "EDITOR"
    assert (await bob.data(FOLDER, {"id": geology}))["folder"]["myRole"] == "VIEWER"
    assert code_of(await bob.error(RUN, {"id": top})) == "FORBIDDEN"
    assert (await bob.data(RUN, {"id": inner}))["runScript"]["status"] == "SUCCEEDED"
    # A weaker grant below a stronger one takes nothing away; a group's
    # grant counts as the person's own.
    await share(alice, deep, "VIEWER", user=bob)
    await share(alice, geology, "RUNNER", group_id=await group_of(admin, bob))
    assert (await bob.data(FOLDER, {"id": deep}))["folder"]["myRole"] == "EDITOR"
    assert (await bob.data(FOLDER, {"id": geology}))["folder"]["myRole"] == "RUNNER"
    assert (await bob.data(RUN, {"id": top}))["runScript"]["status"] == "SUCCEEDED"
    # sharedWithMe lists the top of what is shared once.
    roots = (await bob.data(SHARED_WITH_ME))["sharedWithMe"]
    assert [root["id"] for root in roots] == [geology]


async def test_shared_with_me_is_the_owners_tree_from_each_shared_root(
    alice: GraphQLClient, bob: GraphQLClient, admin: GraphQLClient
) -> None:
    work = (await folder(alice, "work"))["id"]
    geology = (await folder(alice, "geology", work))["id"]
    rocks = (await folder(alice, "rocks", geology))["id"]
    await script(alice, "analysis.py", CODE, geology)
    rock = (await script(alice, "rock.py", CODE, rocks))["id"]
    await folder(alice, "secret-sibling", work)
    await script(alice, "top.py", CODE)
    bobs_own = (await folder(bob, "mine"))["id"]
    # Shared with a group bob is in; bob's own folder shared with the same
    # group is his, not shared with him.
    group = await group_of(admin, alice, bob)
    await share(alice, geology, "VIEWER", group_id=group)
    await share(bob, bobs_own, "VIEWER", group_id=group)

    roots = (await bob.data(SHARED_WITH_ME))["sharedWithMe"]
    assert len(roots) == 1
    root = roots[0]
    assert root["id"] == geology and root["path"] == "work/geology"
    assert root["myRole"] == "VIEWER"
    assert root["owner"] == {"id": uid(alice), "username": username(alice)}
    assert [s["path"] for s in root["scripts"]] == ["work/geology/analysis.py"]
    [sub] = root["folders"]
    assert sub["path"] == "work/geology/rocks" and sub["parent"] == {"id": geology}
    assert [s["path"] for s in sub["scripts"]] == ["work/geology/rocks/rock.py"]
    # What is above the shared root stays out of reach.
    above = "query($id: ID!) { folder(id: $id) { parent { id } } }"
    assert (await bob.data(above, {"id": geology}))["folder"]["parent"] is None
    assert (await bob.data(FOLDER, {"id": work}))["folder"] is None
    by_path = "query($p: String!) { script(path: $p) { id owner { username } } }"
    path = f"~{username(alice)}/work/geology/rocks/rock.py"
    found = (await bob.data(by_path, {"p": path}))["script"]
    assert found == {"id": rock, "owner": {"username": username(alice)}}
    assert (await bob.data(by_path, {"p": f"~{username(alice)}/top.py"}))["script"] is None
    # alice's own folder, shared with her group, is not shared with her.
    assert [r["id"] for r in (await alice.data(SHARED_WITH_ME))["sharedWithMe"]] == [bobs_own]


async def test_the_owner_moving_a_script_out_takes_access_away(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    geology = (await folder(alice, "geology"))["id"]
    private = (await folder(alice, "private"))["id"]
    analysis = (await script(alice, "analysis.py", CODE, geology))["id"]
    await share(alice, geology, "RUNNER", user=bob)
    assert (await bob.data(SCRIPT, {"id": analysis}))["script"]["owner"]["id"] == uid(alice)
    await alice.data(MOVE_SCRIPT, {"id": analysis, "to": private})
    assert (await bob.data(SCRIPT, {"id": analysis}))["script"] is None
    assert code_of(await bob.error(RUN, {"id": analysis})) == "NOT_FOUND"
    await alice.data(MOVE_SCRIPT, {"id": analysis, "to": geology})
    assert (await bob.data(RUN, {"id": analysis}))["runScript"]["status"] == "SUCCEEDED"


async def test_an_editor_cannot_move_things_out_of_the_shared_folder(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    geology = (await folder(alice, "geology"))["id"]
    sub = (await folder(alice, "sub", geology))["id"]
    archive = (await folder(alice, "archive"))["id"]
    private = (await folder(alice, "private"))["id"]
    analysis = (await script(alice, "analysis.py", CODE, geology))["id"]
    await share(alice, geology, "EDITOR", user=bob)
    await share(alice, archive, "VIEWER", user=bob)
    bobs = (await folder(bob, "mine"))["id"]
    for query, moved in ((MOVE_SCRIPT, analysis), (MOVE_FOLDER, sub)):
        # Not visible to him: as if it did not exist.
        assert code_of(await bob.error(query, {"id": moved, "to": private})) == "NOT_FOUND"
        # His own folder is another tree.
        assert code_of(await bob.error(query, {"id": moved, "to": bobs})) == "NOT_FOUND"
        # Visible, but he is only a viewer there; the top is alice's.
        assert code_of(await bob.error(query, {"id": moved, "to": archive})) == "FORBIDDEN"
        assert code_of(await bob.error(query, {"id": moved, "to": None})) == "FORBIDDEN"
    # Within the shared subtree he moves freely.
    assert (await bob.data(MOVE_SCRIPT, {"id": analysis, "to": sub}))["moveScript"]["id"]
    path = (await alice.data(SCRIPT, {"id": analysis}))["script"]["path"]
    assert path == "geology/sub/analysis.py"


async def test_taking_a_grant_back_ends_a_followed_run(
    alice: GraphQLClient, bob: GraphQLClient, service: Service
) -> None:
    geology = (await folder(alice, "geology"))["id"]
    slow = "import time\ndef main(data):\n    time.sleep(60)\n"
    slow_id = (await script(alice, "slow.py", slow, geology))["id"]
    grant = await share(alice, geology, "RUNNER", user=bob)
    start = "mutation($id: ID!) { runScript(input: {scriptId: $id}) { id } }"
    run_id = (await bob.data(start, {"id": slow_id}))["runScript"]["id"]
    try:
        async with raw_socket(service.url, bob.token) as socket:
            await socket.send_operation("1", UPDATES, {"id": run_id})
            # Wait until the subscription is live (its first event).
            first = await socket.next_message()
            assert first["type"] == "next", first
            await alice.data(UNSHARE, {"id": grant["id"]})
            taken = time.monotonic()
            while True:
                message = await socket.next_message(timeout=5)
                if message["type"] == "error":
                    break
            assert time.monotonic() - taken < 2.5
            assert error_codes(message) == ["FORBIDDEN"]
    finally:
        cancel = "mutation($id: ID!) { cancelExecution(id: $id) { status } }"
        await alice.data(cancel, {"id": run_id})
    # The run stays bob's to see; the script is no longer.
    assert (await bob.data(SCRIPT, {"id": slow_id}))["script"] is None
    await asyncio.sleep(0)


# user, whether their login has ended, reach (grants, then one per level
# below), sharedWithMe's grants and folders, owners, the folder and script
# indexes, versions, the root's grants.
SHARED_TREE_STATEMENTS = 12
SHARED_TREE = """
{ sharedWithMe { id path myRole owner { username } grants { id }
    scripts { id path owner { username } content }
    folders { id path myRole owner { username } parent { id }
      scripts { id path owner { username } }
      folders { id path myRole owner { username } scripts { id path owner { username } } } } } }
"""


async def shared_tree(owner: GraphQLClient, reader: GraphQLClient, per_level: int) -> None:
    """A folder shared with `reader`: `per_level` folders twice down, a script in each."""
    root = (await folder(owner, "shared"))["id"]
    await script(owner, "top.py", CODE, root)
    for m in range(per_level):
        middle = (await folder(owner, f"m{m}", root))["id"]
        await script(owner, f"s{m}.py", CODE, middle)
        for n in range(per_level):
            leaf = (await folder(owner, f"n{n}", middle))["id"]
            await script(owner, f"leaf{n}.py", CODE, leaf)
    await share(owner, root, "RUNNER", user=reader)


@pytest.mark.parametrize("service", ["local"], indirect=True)
@pytest.mark.usefixtures("fresh_sessions")
async def test_a_shared_tree_costs_the_same_statements_whatever_its_size(
    anon: GraphQLClient,
) -> None:
    small_owner, small_reader = await registered(anon, "so"), await registered(anon, "sr")
    large_owner, large_reader = await registered(anon, "lo"), await registered(anon, "lr")
    await shared_tree(small_owner, small_reader, per_level=1)
    await shared_tree(large_owner, large_reader, per_level=4)
    with count_sql() as small_statements:
        await small_reader.data(SHARED_TREE)
    with count_sql() as large_statements:
        large = (await large_reader.data(SHARED_TREE))["sharedWithMe"]
    leaf = large[0]["folders"][3]["folders"][3]
    assert leaf["path"] == "shared/m3/n3" and leaf["myRole"] == "RUNNER"
    assert leaf["scripts"][0]["owner"]["username"] == username(large_owner)
    assert leaf["scripts"][0]["path"] == "shared/m3/n3/leaf3.py"
    assert len(large_statements) == len(small_statements), large_statements
    # Exactly that many for any size (a counter that counts nothing fails).
    assert len(small_statements) == SHARED_TREE_STATEMENTS, small_statements
