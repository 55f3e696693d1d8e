"""Which object an audit entry names, for mutations of every shape: the
rule is generic, so mutations added later (sharing, groups, tokens, account
administration) are named without being listed anywhere."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry

from graphql_api.audit_extension import FieldNote, target


@strawberry.type
class Group:
    id: strawberry.ID


@strawberry.type(name="FolderGrant")
class Grant:
    id: strawberry.ID


@strawberry.input
class RunInput:
    script_id: strawberry.ID | None = None
    path: str | None = None


CASES: list[tuple[str, dict[str, Any], Any, tuple[str | None, str | None]]] = [
    # By id: typed by the result, or by the noun of the mutation's name.
    ("deleteFolder", {"id": "f1"}, True, ("Folder", "f1")),
    ("revokeApiToken", {"id": "t1"}, None, ("ApiToken", "t1")),
    ("cancelExecution", {"id": "e1"}, None, ("Execution", "e1")),
    # Creations: the result.
    ("createGroup", {"name": "geo"}, Group(id=strawberry.ID("g1")), ("Group", "g1")),
    (
        "shareFolder",
        {"folder_id": "f1", "user_id": "u1", "role": "VIEWER"},
        Grant(id=strawberry.ID("gr1")),
        ("FolderGrant", "gr1"),
    ),
    # Failed before a result: the first id-like argument, inside inputs too.
    ("shareFolder", {"folder_id": "f1", "user_id": "u1"}, None, ("Folder", "f1")),
    ("unshareFolder", {"grant_id": "gr1"}, None, ("Grant", "gr1")),
    ("addGroupMember", {"group_id": "g1", "user_id": "u1"}, None, ("Group", "g1")),
    ("setUserActive", {"user_id": "u1", "active": False}, None, ("User", "u1")),
    ("runScript", {"input": RunInput(script_id=strawberry.ID("s1"))}, None, ("Script", "s1")),
    ("deleteFile", {"key": "surveys/a.csv"}, False, ("File", "surveys/a.csv")),
    # A secret is named by its name; its value is never an object id.
    ("setSecret", {"name": "API_TOKEN", "value": "hunter2"}, None, ("Secret", "API_TOKEN")),
    ("setGroupSecret", {"group_id": "g1", "name": "K", "value": "v"}, None, ("Group", "g1")),
    # Nothing to name.
    ("login", {"username": "alice", "password": "pw"}, None, (None, None)),
    ("createFolder", {"name": "top", "parent_id": None}, None, (None, None)),
]


@pytest.mark.parametrize(("action", "arguments", "result", "expected"), CASES)
def test_the_object_named(
    action: str,
    arguments: dict[str, Any],
    result: Any,
    expected: tuple[str | None, str | None],
) -> None:
    note = FieldNote(action, arguments, returns_object=False, result=result)
    assert target(note) == expected
