"""GraphQL documents and helpers for the sharing and group tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.client import GraphQLClient, unique_username

SHARE = """
mutation($f: ID!, $u: ID, $n: String, $g: ID, $r: Role!) {
  shareFolder(folderId: $f, userId: $u, username: $n, groupId: $g, role: $r) {
    id role user { id } group { id name } folder { id name } grantedBy { id } createdAt
  }
}
"""
UNSHARE = "mutation($id: ID!) { unshareFolder(grantId: $id) }"
SHARED_WITH_ME = """
{ sharedWithMe { id name path myRole owner { id username }
    scripts { id name path }
    folders { id name path parent { id } scripts { id name path } folders { id name path } } } }
"""
CREATE_GROUP = "mutation($n: String!) { createGroup(name: $n) { id name members { id } } }"
DELETE_GROUP = "mutation($id: ID!) { deleteGroup(id: $id) }"
ADD_MEMBER = """
mutation($g: ID!, $u: ID!) { addGroupMember(groupId: $g, userId: $u) { id members { id } } }
"""
REMOVE_MEMBER = """
mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id members { id } } }
"""
GROUPS = "{ groups { id name members { id username } secretNames } }"
SET_GROUP_SECRET = """
mutation($g: ID!, $n: String!, $v: String!) {
  setGroupSecret(groupId: $g, name: $n, value: $v) { id secretNames }
}
"""
DELETE_GROUP_SECRET = "mutation($g: ID!, $n: String!) { deleteGroupSecret(groupId: $g, name: $n) }"


def uid(client: GraphQLClient) -> str:
    """The id of a client made by `registered`."""
    return str(client.user["id"])  # type: ignore[attr-defined]


def username(client: GraphQLClient) -> str:
    return str(client.user["username"])  # type: ignore[attr-defined]


async def share(
    owner: GraphQLClient,
    folder_id: str,
    role: str,
    user: GraphQLClient | None = None,
    group_id: str | None = None,
) -> dict[str, Any]:
    variables = {
        "f": folder_id,
        "r": role,
        "u": uid(user) if user is not None else None,
        "g": group_id,
    }
    grant: dict[str, Any] = (await owner.data(SHARE, variables))["shareFolder"]
    return grant


async def group_of(admin: GraphQLClient, *members: GraphQLClient) -> str:
    """A new group with these members; its id."""
    group_id = str(
        (await admin.data(CREATE_GROUP, {"n": unique_username("group")}))["createGroup"]["id"]
    )
    for member in members:
        await admin.data(ADD_MEMBER, {"g": group_id, "u": uid(member)})
    return group_id


def code_of(error: dict[str, Any]) -> str:
    return str(error["extensions"]["code"])


def outcome(body: dict[str, Any], field: str) -> str:
    """'ok', a null answer as NOT_FOUND, or the first error's code."""
    if body.get("errors"):
        return str(body["errors"][0].get("extensions", {}).get("code"))
    return "ok" if body["data"][field] is not None else "NOT_FOUND"


async def batch_finished(client: GraphQLClient, batch_id: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    query = "query($id: ID!) { batch(id: $id) { finished } }"
    while not (await client.data(query, {"id": batch_id}))["batch"]["finished"]:
        assert time.monotonic() < deadline, "the batch did not finish"
        await asyncio.sleep(0.1)
