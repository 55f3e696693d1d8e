"""A login's session is kept between requests (services/session_cache.py),
yet every change to what it reaches shows on its very next request: access
taken away, and access given (a share, a group membership, an admin role).
Each test asks first, so the session is kept, then changes access, then asks
again at once."""

from __future__ import annotations

from typing import Any

from tests.support.client import PASSWORD, GraphQLClient
from tests.support.sharing import SHARED_WITH_ME, code_of, group_of, share, uid
from tests.support.tree import folder

ME = "{ me { id username isAdmin } }"
USERS = "{ users { id } }"
SET_ACTIVE = "mutation($u: ID!, $a: Boolean!) { setUserActive(userId: $u, active: $a) { id } }"
SET_ADMIN = "mutation($u: ID!, $a: Boolean!) { setUserAdmin(userId: $u, admin: $a) { id } }"
CHANGE = (
    "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }"
)


async def kept(client: GraphQLClient) -> dict[str, Any]:
    """Ask twice: the second answer comes from the kept session."""
    await client.data(ME)
    me: dict[str, Any] = (await client.data(ME))["me"]
    return me


async def shared_names(client: GraphQLClient) -> list[str]:
    return [row["name"] for row in (await client.data(SHARED_WITH_ME))["sharedWithMe"]]


async def test_a_deactivated_login_is_refused_on_its_next_request(
    admin: GraphQLClient, bob: GraphQLClient
) -> None:
    await kept(bob)
    await admin.data(SET_ACTIVE, {"u": uid(bob), "a": False})
    assert code_of(await bob.error(ME)) == "UNAUTHENTICATED"


async def test_a_changed_password_ends_the_old_login_on_its_next_request(
    bob: GraphQLClient,
) -> None:
    await kept(bob)
    await bob.data(CHANGE, {"c": PASSWORD, "n": "a brand new passphrase"})
    assert code_of(await bob.error(ME)) == "UNAUTHENTICATED"


async def test_a_demoted_admin_loses_admin_powers_on_the_next_request(
    admin: GraphQLClient, bob: GraphQLClient
) -> None:
    await admin.data(SET_ADMIN, {"u": uid(bob), "a": True})
    assert (await kept(bob))["isAdmin"] is True
    await bob.data(USERS)
    await admin.data(SET_ADMIN, {"u": uid(bob), "a": False})
    assert code_of(await bob.error(USERS)) == "FORBIDDEN"


async def test_a_promotion_is_seen_on_the_next_request(
    admin: GraphQLClient, bob: GraphQLClient
) -> None:
    assert (await kept(bob))["isAdmin"] is False
    assert code_of(await bob.error(USERS)) == "FORBIDDEN"
    await admin.data(SET_ADMIN, {"u": uid(bob), "a": True})
    assert (await bob.data(ME))["me"]["isAdmin"] is True
    await bob.data(USERS)


async def test_a_folder_shared_is_seen_on_the_next_request(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    shared = await folder(alice, "kept-share")
    await kept(bob)
    assert await shared_names(bob) == []
    await share(alice, shared["id"], "VIEWER", user=bob)
    assert await shared_names(bob) == ["kept-share"]


async def test_a_group_membership_is_seen_on_the_next_request(
    admin: GraphQLClient, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    group_id = await group_of(admin)
    shared = await folder(alice, "kept-group")
    await share(alice, shared["id"], "VIEWER", group_id=group_id)
    await kept(bob)
    assert await shared_names(bob) == []
    await admin.data(
        "mutation($g: ID!, $u: ID!) { addGroupMember(groupId: $g, userId: $u) { id } }",
        {"g": group_id, "u": uid(bob)},
    )
    assert await shared_names(bob) == ["kept-group"]
