"""The audit log: every mutation (ok or failed), sign-ins, refused API
tokens and REST runs are recorded with who, what, on which object, the
outcome and the client's address; a user reads what they did and what was
done to what they own, an admin everything; nothing in the API changes an
entry; old entries are pruned; a failed write is logged, never fatal."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise import Tortoise

from core.roles import TokenScope
from models.audit import AuditEntry
from models.users import User
from services.api_tokens import ApiTokens
from services.reach import caller_for
from tests.support.client import PASSWORD, GraphQLClient
from tests.support.servers import Service
from tests.support.tree import folder, script

ENTRIES = """
query($actorId: ID, $objectId: ID, $action: String, $since: DateTime, $first: Int,
      $after: String, $newestFirst: Boolean! = false) {
  auditLog(actorId: $actorId, objectId: $objectId, action: $action, since: $since,
           first: $first, after: $after, newestFirst: $newestFirst) {
    id at actor { id username } actorName tokenPrefix action objectType objectId outcome
    clientAddress
  }
}
"""
RENAME = "mutation($id: ID!, $n: String!) { renameFolder(id: $id, name: $n) { name } }"
DELETE = "mutation($id: ID!) { deleteFolder(id: $id) }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }"
ME = "{ me { id } }"


async def entries(client: GraphQLClient, **filters: Any) -> list[dict[str, Any]]:
    data = await client.data(ENTRIES, filters)
    found: list[dict[str, Any]] = data["auditLog"]
    return found


def uid(client: GraphQLClient) -> str:
    return str(client.user["id"])  # type: ignore[attr-defined]


def unknown_token() -> tuple[str, str]:
    """A well-formed API token that names no token: (token, its prefix)."""
    token_id = secrets.token_hex(6)
    return f"sbx_{token_id}_{secrets.token_urlsafe(32)}", f"sbx_{token_id}"


async def test_a_mutation_is_recorded_with_its_actor_action_object_and_outcome(
    alice: GraphQLClient,
) -> None:
    made = await folder(alice, "papers")
    [created] = await entries(alice, objectId=made["id"])
    assert created["action"] == "createFolder"
    assert (created["objectType"], created["outcome"]) == ("Folder", "ok")
    assert created["actor"] == {"id": uid(alice), "username": alice.user["username"]}  # type: ignore[attr-defined]
    assert created["tokenPrefix"] is None
    assert created["clientAddress"] == "127.0.0.1"

    again = await alice.error(
        'mutation { createFolder(name: "papers") { id } }',
    )
    assert again["extensions"]["code"] == "ALREADY_EXISTS"
    missing = str(uuid.uuid4())
    assert (await alice.error(DELETE, {"id": missing}))["extensions"]["code"] == "NOT_FOUND"

    mine = await entries(alice, actorId=uid(alice))
    failed_create = [e for e in mine if e["action"] == "createFolder" and e["outcome"] != "ok"]
    assert [e["outcome"] for e in failed_create] == ["ALREADY_EXISTS"]
    [failed_delete] = await entries(alice, objectId=missing)
    assert failed_delete["action"] == "deleteFolder"
    assert (failed_delete["objectType"], failed_delete["outcome"]) == ("Folder", "NOT_FOUND")
    assert failed_delete["actor"]["id"] == uid(alice)


async def test_each_root_field_of_a_mutation_gets_its_own_entry(alice: GraphQLClient) -> None:
    made = await folder(alice, "twice")
    missing = str(uuid.uuid4())
    body = await alice.execute(
        'mutation($a: ID!, $b: ID!) { ok: renameFolder(id: $a, name: "renamed") { name } '
        'bad: renameFolder(id: $b, name: "x") { name } }',
        {"a": made["id"], "b": missing},
    )
    # The second field's error nulls the whole answer, but the first one ran.
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]
    assert [e["outcome"] for e in await entries(alice, objectId=made["id"])] == ["ok", "ok"]
    [bad] = await entries(alice, objectId=missing)
    assert (bad["action"], bad["outcome"]) == ("renameFolder", "NOT_FOUND")


async def test_a_mutation_through_an_api_token_names_the_token(alice: GraphQLClient) -> None:
    # Tokens are made as the createApiToken mutation makes them.
    person = await caller_for(await User.get(id=uid(alice)))
    writer, writer_row = await ApiTokens().create(person, "w", [TokenScope.WRITE], None, None)
    reader, reader_row = await ApiTokens().create(person, "r", [TokenScope.READ], None, None)

    made = (await alice.with_token(writer).data('mutation { createFolder(name: "t") { id } }'))[
        "createFolder"
    ]
    refused = await alice.with_token(reader).error(DELETE, {"id": made["id"]})
    assert refused["extensions"]["code"] == "FORBIDDEN"

    recorded = [
        (e["action"], e["outcome"], e["tokenPrefix"], e["actor"]["id"])
        for e in await entries(alice, objectId=made["id"])
    ]
    assert recorded == [
        ("createFolder", "ok", writer_row.prefix, uid(alice)),
        ("deleteFolder", "FORBIDDEN", reader_row.prefix, uid(alice)),
    ]


async def test_logins_are_recorded_and_a_failed_one_names_the_username_tried(
    alice: GraphQLClient, anon: GraphQLClient, admin: GraphQLClient
) -> None:
    username = alice.user["username"]  # type: ignore[attr-defined]
    start = _minutes_ago(0)
    await anon.data(LOGIN, {"u": username, "p": PASSWORD})
    wrong = await anon.error(LOGIN, {"u": username.upper(), "p": "not the password"})
    assert wrong["extensions"]["code"] == "UNAUTHENTICATED"

    [ok] = await entries(alice, action="login")
    assert (ok["actor"]["id"], ok["actorName"], ok["outcome"]) == (uid(alice), username, "ok")
    # The failed attempt has no actor: only an admin reads it, by the name tried.
    failed = [e for e in await entries(admin, action="login", since=start) if e["outcome"] != "ok"]
    mine = [e for e in failed if e["actorName"] == username]
    assert len(mine) == 1
    assert mine[0]["actor"] is None
    assert mine[0]["outcome"] == "UNAUTHENTICATED"
    stored = await AuditEntry.filter(id=int(mine[0]["id"])).values()
    assert PASSWORD not in str(stored) and "not the password" not in str(stored)


async def test_a_refused_api_token_is_recorded_once_per_request(
    anon: GraphQLClient, admin: GraphQLClient
) -> None:
    start = _minutes_ago(0)
    token, prefix = unknown_token()
    caller = anon.with_token(token)
    # Two fields read the session: the refusal is still one entry.
    body = await caller.execute("{ me { id } tree { scripts { id } } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    refused = [e for e in await entries(admin, action="apiTokenRefused", first=200)]
    assert [e["outcome"] for e in refused if e["tokenPrefix"] == prefix] == ["UNAUTHENTICATED"]

    # A mutation through it: the refusal, and the mutation refused.
    error = await caller.error('mutation { createFolder(name: "never") { id } }')
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    recorded = [
        (e["action"], e["outcome"], e["actor"])
        for e in await entries(admin, first=200, since=start)
        if e["tokenPrefix"] == prefix
    ]
    assert recorded == [
        ("apiTokenRefused", "UNAUTHENTICATED", None),
        ("apiTokenRefused", "UNAUTHENTICATED", None),
        ("createFolder", "UNAUTHENTICATED", None),
    ]


async def test_a_rest_run_is_recorded(alice: GraphQLClient, admin: GraphQLClient) -> None:
    made = await script(alice, "audited.py", "def main(data):\n    return 1\n")
    start = _minutes_ago(0)
    url = f"{alice.base_url}/api/v1/scripts"
    ran = await alice.http.post(f"{url}/audited.py", json={"data": {}}, headers=alice.headers())
    assert ran.status_code == 200, ran.text
    missing = await alice.http.post(f"{url}/nope.py", json={}, headers=alice.headers())
    assert missing.status_code == 404
    token, prefix = unknown_token()
    refused = await alice.http.post(
        f"{url}/audited.py", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 401

    [run] = await entries(alice, action="rest.runScript", objectId=made["id"])
    assert (run["objectType"], run["outcome"], run["actor"]["id"]) == ("Script", "ok", uid(alice))
    outcomes = [e["outcome"] for e in await entries(alice, action="rest.runScript")]
    assert outcomes == ["ok", "NOT_FOUND"]
    by_token = [
        (e["action"], e["outcome"])
        for e in await entries(admin, since=start, first=200)
        if e["tokenPrefix"] == prefix
    ]
    assert by_token == [
        ("apiTokenRefused", "UNAUTHENTICATED"),
        ("rest.runScript", "UNAUTHENTICATED"),
    ]


async def test_users_read_their_own_entries_and_those_about_their_objects(
    alice: GraphQLClient, bob: GraphQLClient, admin: GraphQLClient
) -> None:
    kept = await folder(alice, "kept")
    await admin.data(RENAME, {"id": kept["id"], "n": "renamed-by-admin"})
    # Bob cannot see it, but his attempt on it is about alice's folder.
    assert (await bob.error(DELETE, {"id": kept["id"]}))["extensions"]["code"] == "NOT_FOUND"
    bobs = await folder(bob, "bobs")

    about_kept = await entries(alice, objectId=kept["id"])
    assert [(e["action"], e["actor"]["username"], e["outcome"]) for e in about_kept] == [
        ("createFolder", alice.user["username"], "ok"),  # type: ignore[attr-defined]
        ("renameFolder", admin_name(about_kept), "ok"),
        ("deleteFolder", bob.user["username"], "NOT_FOUND"),  # type: ignore[attr-defined]
    ]
    assert await entries(alice, objectId=bobs["id"]) == []
    # Of bob's doings, alice reads only the one about her folder.
    assert [e["action"] for e in await entries(alice, actorId=uid(bob))] == ["deleteFolder"]
    # Bob reads his own attempt, but not what was done to alice's folder by others.
    assert [e["action"] for e in await entries(bob, objectId=kept["id"])] == ["deleteFolder"]
    for entry in await entries(bob, first=200):
        assert entry["actor"] is not None and entry["actor"]["id"] == uid(bob)
    # An admin reads everyone's.
    assert len(await entries(admin, objectId=kept["id"])) == 3
    assert len(await entries(admin, objectId=bobs["id"])) == 1


def admin_name(found: list[dict[str, Any]]) -> str:
    name: str = found[1]["actor"]["username"]
    assert name.startswith("admin-")
    return name


async def test_filters_and_cursor_pages(alice: GraphQLClient, bob: GraphQLClient) -> None:
    start = _minutes_ago(0)
    made = [await folder(alice, f"page-{n}") for n in range(5)]
    await folder(bob, "elsewhere")

    created = await entries(alice, action="createFolder", actorId=uid(alice), since=start)
    assert [e["objectId"] for e in created] == [f["id"] for f in made]
    for newest_first, expected in ((False, made), (True, made[::-1])):
        pages: list[str] = []
        after = None
        while True:
            page = await entries(
                alice,
                action="createFolder",
                since=start,
                first=2,
                after=after,
                newestFirst=newest_first,
            )
            if not page:
                break
            assert len(page) <= 2
            pages += [e["objectId"] for e in page]
            after = page[-1]["id"]
        assert pages == [f["id"] for f in expected]
    assert await entries(alice, since=(datetime.now(UTC) + timedelta(hours=1)).isoformat()) == []
    assert await entries(alice, action="deleteScript") == []
    for first in (0, 201):
        error = await alice.error(ENTRIES, {"first": first})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await alice.error(ENTRIES, {"after": "x"}))["extensions"]["code"] == "BAD_USER_INPUT"


async def test_no_mutation_changes_the_log(anon: GraphQLClient) -> None:
    data = await anon.data("{ __schema { mutationType { fields { name } } } }")
    names = [field["name"] for field in data["__schema"]["mutationType"]["fields"]]
    assert names and not [name for name in names if "audit" in name.lower()]


async def test_retention_prunes_old_entries(service: Service, admin: GraphQLClient) -> None:
    audit = service.process.services.audit
    assert audit.retention_days > 0
    old = await AuditEntry.create(action="test.old", outcome="ok", object_id="pruned")
    recent = await AuditEntry.create(action="test.recent", outcome="ok", object_id="kept")
    now = datetime.now(UTC)
    await AuditEntry.filter(id=old.id).update(at=now - timedelta(days=audit.retention_days + 1))
    await AuditEntry.filter(id=recent.id).update(at=now - timedelta(days=audit.retention_days - 1))

    # The round the periodic task runs, until nothing is left to prune.
    while await audit.prune():
        pass
    assert await entries(admin, objectId="pruned") == []
    assert [e["action"] for e in await entries(admin, objectId="kept")] == ["test.recent"]


async def test_a_failed_audit_write_is_logged_and_the_request_still_answers(
    service: Service, alice: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    audit = service.process.services.audit
    failed_before = audit.failed_writes
    connection = Tortoise.get_connection("default")
    # The write fails for real: its table is not there.
    await connection.execute_script("ALTER TABLE audit_log RENAME TO audit_log_away")
    try:
        with caplog.at_level(logging.ERROR, logger="services.audit"):
            made = await folder(alice, "unrecorded")
    finally:
        await connection.execute_script("ALTER TABLE audit_log_away RENAME TO audit_log")
    assert made["id"]
    assert audit.failed_writes == failed_before + 1
    [logged] = [r for r in caplog.records if r.name == "services.audit"]
    assert logged.levelno == logging.ERROR
    message = logged.getMessage()
    assert "createFolder" in message and made["id"] in message and uid(alice) in message
    assert await entries(alice, objectId=made["id"]) == []


def _minutes_ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()
