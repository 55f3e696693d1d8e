"""A person's own credentials (changing the password, logging out) and what
admins do to accounts: list, create, deactivate and reactivate, promote and
demote, never leaving no active admin. A deactivated owner's schedules wait."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.support.client import PASSWORD, GraphQLClient, registered, unique_username
from tests.support.servers import Service
from tests.support.tree import script
from tests.support.ws import error_codes, raw_socket

ME = "{ me { id username isActive } }"
LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { accessToken refreshToken }
}
"""
REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"
LOGOUT = "mutation($t: String!) { logout(refreshToken: $t) }"
CHANGE = (
    "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }"
)
NEW_TOKEN = 'mutation { createApiToken(name: "ci", scopes: [READ]) { token } }'
USERS = """
query($s: String, $f: Int, $a: String) {
  users(search: $s, first: $f, after: $a) { id username isAdmin isActive }
}
"""
SET_ACTIVE = (
    "mutation($u: ID!, $a: Boolean!) { setUserActive(userId: $u, active: $a) { id isActive } }"
)
SET_ADMIN = "mutation($u: ID!, $a: Boolean!) { setUserAdmin(userId: $u, admin: $a) { id isAdmin } }"
CREATE_USER = """
mutation($u: String!, $p: String!, $a: Boolean) {
  createUser(username: $u, password: $p, admin: $a) { id username isAdmin }
}
"""
LIVE = "subscription { myExecutions { executionId status } }"
NEW_PASSWORD = "a brand new passphrase"


def code(error: dict[str, Any]) -> str:
    return str(error["extensions"]["code"])


def name_of(client: GraphQLClient) -> str:
    return str(client.user["username"])  # type: ignore[attr-defined]


def id_of(client: GraphQLClient) -> str:
    return str(client.user["id"])  # type: ignore[attr-defined]


async def login(anon: GraphQLClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    return await anon.execute(LOGIN, {"u": username, "p": password})


async def api_token_of(client: GraphQLClient) -> GraphQLClient:
    return client.with_token((await client.data(NEW_TOKEN))["createApiToken"]["token"])


async def assert_socket_ends(base_url: str, token: str | None, then: Any) -> None:
    """A live subscription of `token`'s ends UNAUTHENTICATED and the socket
    closes 4403 after `then()` runs (a deadline against a hang only)."""
    async with raw_socket(base_url, token) as socket:
        await socket.send_operation("live", LIVE)
        await socket.send_operation("probe", "subscription { nope }")
        assert (await socket.next_message())["id"] == "probe"
        await then()
        close_code, before = await socket.closed_with(timeout=10)
    assert close_code == 4403
    assert before and error_codes(before[0]) == ["UNAUTHENTICATED"]


async def test_changing_the_password_ends_every_session(anon: GraphQLClient) -> None:
    alice = await registered(anon, "alice")
    session = (await login(anon, name_of(alice)))["data"]["login"]
    api = await api_token_of(alice)

    wrong = await alice.error(CHANGE, {"c": "not my password", "n": NEW_PASSWORD})
    assert code(wrong) == "BAD_USER_INPUT"
    weak = await alice.error(CHANGE, {"c": PASSWORD, "n": "short"})
    assert code(weak) == "BAD_USER_INPUT"

    async def change() -> None:
        assert (await alice.data(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}))["changePassword"]

    await assert_socket_ends(anon.base_url, session["accessToken"], change)
    assert code(await alice.error(ME)) == "UNAUTHENTICATED"
    assert code(await anon.error(REFRESH, {"t": session["refreshToken"]})) == "UNAUTHENTICATED"
    assert code((await login(anon, name_of(alice)))["errors"][0]) == "UNAUTHENTICATED"
    fresh = (await login(anon, name_of(alice), NEW_PASSWORD))["data"]["login"]
    assert (await anon.with_token(fresh["accessToken"]).data(ME))["me"]["id"] == id_of(alice)
    # API tokens belong to software, not to a session: they keep working.
    assert (await api.data(ME))["me"]["id"] == id_of(alice)


async def test_logout_ends_the_refresh_chain(anon: GraphQLClient, alice: GraphQLClient) -> None:
    first = (await login(anon, name_of(alice)))["data"]["login"]
    other = (await login(anon, name_of(alice)))["data"]["login"]
    rotated = (await anon.data(REFRESH, {"t": first["refreshToken"]}))["refreshToken"]

    # The access tokens in hand work (twice: the second may be a kept session).
    for access in (first["accessToken"], rotated["accessToken"], other["accessToken"]) * 2:
        assert (await anon.with_token(access).data(ME))["me"]["id"] == id_of(alice)

    async def log_out() -> None:
        assert (await anon.data(LOGOUT, {"t": rotated["refreshToken"]}))["logout"] is True

    await assert_socket_ends(anon.base_url, rotated["accessToken"], log_out)
    assert code(await anon.error(REFRESH, {"t": rotated["refreshToken"]})) == "UNAUTHENTICATED"
    # Every access token of that login is refused now, the first one too.
    for access in (first["accessToken"], rotated["accessToken"]):
        assert code(await anon.with_token(access).error(ME)) == "UNAUTHENTICATED"
    # Another login is another chain: it still works and refreshes.
    assert (await anon.with_token(other["accessToken"]).data(ME))["me"]["id"] == id_of(alice)
    assert (await anon.data(REFRESH, {"t": other["refreshToken"]}))["refreshToken"]
    assert code(await anon.error(LOGOUT, {"t": "not-a-token"})) == "UNAUTHENTICATED"
    assert code(await anon.error(LOGOUT, {"t": first["accessToken"]})) == "UNAUTHENTICATED"


async def test_deactivation_stops_everything_and_reactivation_resumes_tokens(
    anon: GraphQLClient, alice: GraphQLClient, admin: GraphQLClient
) -> None:
    api = await api_token_of(alice)
    session = (await login(anon, name_of(alice)))["data"]["login"]
    assert code(await alice.error(SET_ACTIVE, {"u": id_of(alice), "a": False})) == "FORBIDDEN"

    async def deactivate() -> None:
        done = (await admin.data(SET_ACTIVE, {"u": id_of(alice), "a": False}))["setUserActive"]
        assert done["isActive"] is False

    await assert_socket_ends(anon.base_url, api.token, deactivate)
    for client in (alice, api):
        assert code(await client.error(ME)) == "UNAUTHENTICATED"
    assert code(await anon.error(REFRESH, {"t": session["refreshToken"]})) == "UNAUTHENTICATED"
    refused = (await login(anon, name_of(alice)))["errors"][0]
    assert (code(refused), refused["message"]) == ("UNAUTHENTICATED", "The account is deactivated.")

    await admin.data(SET_ACTIVE, {"u": id_of(alice), "a": True})
    assert (await api.data(ME))["me"]["isActive"] is True
    # Sessions from before stay ended; a new login works.
    assert code(await alice.error(ME)) == "UNAUTHENTICATED"
    assert "data" in await login(anon, name_of(alice))


async def test_admins_keep_their_own_powers(anon: GraphQLClient, admin: GraphQLClient) -> None:
    me = (await admin.data(ME))["me"]["id"]
    for document in (SET_ACTIVE, SET_ADMIN):
        error = await admin.error(document, {"u": me, "a": False})
        assert code(error) == "BAD_USER_INPUT", error
    assert code(await admin.error(SET_ACTIVE, {"u": "not-an-id", "a": False})) == "NOT_FOUND"

    # A second admin, made by the first, demoted again: their powers end.
    username = unique_username("helper")
    made = await admin.data(CREATE_USER, {"u": username, "p": PASSWORD, "a": True})
    helper_id = made["createUser"]["id"]
    helper = anon.with_token((await login(anon, username))["data"]["login"]["accessToken"])
    assert (await helper.data(USERS, {"s": username}))["users"][0]["isAdmin"] is True
    assert (await helper.data(SET_ADMIN, {"u": me, "a": True}))["setUserAdmin"]["isAdmin"]

    demoted = (await admin.data(SET_ADMIN, {"u": helper_id, "a": False}))["setUserAdmin"]
    assert demoted["isAdmin"] is False
    assert code(await helper.error(USERS, {"s": username})) == "FORBIDDEN"
    assert code(await helper.error(CREATE_USER, {"u": unique_username(), "p": PASSWORD})) == (
        "FORBIDDEN"
    )


async def test_admins_list_users_by_username_a_page_at_a_time(
    anon: GraphQLClient, admin: GraphQLClient, alice: GraphQLClient
) -> None:
    tag = unique_username("page")
    names = sorted(f"{tag}-{n}" for n in "cab")
    for name in names:
        await admin.data(CREATE_USER, {"u": name, "p": PASSWORD})
    first = (await admin.data(USERS, {"s": tag.upper(), "f": 2}))["users"]
    assert [u["username"] for u in first] == names[:2]
    rest = (await admin.data(USERS, {"s": tag, "f": 2, "a": first[-1]["username"]}))["users"]
    assert [u["username"] for u in rest] == names[2:]
    by_id = (await admin.data(USERS, {"s": tag, "a": first[0]["id"]}))["users"]
    assert [u["username"] for u in by_id] == names[1:]
    for bad in (0, 201):
        assert code(await admin.error(USERS, {"f": bad})) == "BAD_USER_INPUT"
    assert code(await alice.error(USERS, {})) == "FORBIDDEN"
    assert code(await alice.error(CREATE_USER, {"u": unique_username(), "p": PASSWORD})) == (
        "FORBIDDEN"
    )
    taken = await admin.error(CREATE_USER, {"u": names[0], "p": PASSWORD})
    assert code(taken) == "ALREADY_EXISTS"


CREATE_SCHEDULE = """
mutation($id: ID!) { createSchedule(input: {scriptId: $id, cron: "0 * 29 2 *"}) { id nextRunAt } }
"""


async def test_a_deactivated_owners_schedules_wait_until_reactivated(
    service: Service, alice: GraphQLClient, admin: GraphQLClient
) -> None:
    scheduler = service.process.scheduler
    assert scheduler is not None
    job = (await script(alice, "nightly.py", "def main(data):\n    return 1\n"))["id"]
    # Due only on 29 February: the service's own ticker never fires it first.
    schedule = (await alice.data(CREATE_SCHEDULE, {"id": job}))["createSchedule"]
    due = datetime.fromisoformat(schedule["nextRunAt"]) + timedelta(seconds=1)
    try:
        await admin.data(SET_ACTIVE, {"u": id_of(alice), "a": False})
        fired = await scheduler.tick(due)
        assert schedule["id"] not in [str(row.schedule_id) for row in fired]
        await admin.data(SET_ACTIVE, {"u": id_of(alice), "a": True})
        fired = await scheduler.tick(due + timedelta(seconds=1))
        assert [str(row.schedule_id) for row in fired].count(schedule["id"]) == 1
    finally:
        await admin.execute(
            "mutation($id: ID!) { deleteSchedule(id: $id) }", {"id": schedule["id"]}
        )
