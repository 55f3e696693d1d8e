"""Rules of the folder tree a client can run into: the nesting limit
(SCRIPTBOX_MAX_FOLDER_DEPTH) on create and on move, name clashes on move,
and two saves of one script racing (CONFLICT)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import GraphQLClient, GraphQLErrorResponse, user_at
from tests.support.processes import own_service
from tests.support.tree import SCRIPT_BY_ID, UPDATE_SCRIPT, folder, script

MOVE_FOLDER = "mutation($id: ID!, $to: ID) { moveFolder(id: $id, parentId: $to) { id path } }"
MOVE_SCRIPT = "mutation($id: ID!, $to: ID) { moveScript(id: $id, folderId: $to) { id path } }"
CREATE_FOLDER = "mutation($n: String!, $p: ID) { createFolder(name: $n, parentId: $p) { id } }"
TREE_PATHS = "{ tree { folders { path folders { path folders { path folders { path } } } } } }"

DEPTH = 3


@pytest.fixture
async def shallow(tmp_path: Path) -> Any:
    """A service whose folders nest at most DEPTH levels."""
    async with (
        own_service(tmp_path, SCRIPTBOX_MAX_FOLDER_DEPTH=str(DEPTH)) as running,
        user_at(running.url, "shallow") as client,
    ):
        yield client


async def chain(client: GraphQLClient, prefix: str, levels: int) -> list[str]:
    ids: list[str] = []
    for level in range(levels):
        ids.append((await folder(client, f"{prefix}{level}", ids[-1] if ids else None))["id"])
    return ids


async def test_creating_a_folder_past_the_depth_limit_is_refused(
    shallow: GraphQLClient,
) -> None:
    ids = await chain(shallow, "d", DEPTH)
    error = await shallow.error(CREATE_FOLDER, {"n": "too-deep", "p": ids[-1]})
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert str(DEPTH) in error["message"]
    tree = (await shallow.data(TREE_PATHS))["tree"]
    assert tree["folders"][0]["folders"][0]["folders"][0]["folders"] == []


async def test_moving_a_folder_past_the_depth_limit_is_refused(shallow: GraphQLClient) -> None:
    deep = await chain(shallow, "a", DEPTH - 1)
    # A folder with one child: two levels, which fit at the top but not
    # below a chain of DEPTH - 1.
    parent = (await folder(shallow, "moved"))["id"]
    await folder(shallow, "child", parent)
    error = await shallow.error(MOVE_FOLDER, {"id": parent, "to": deep[-1]})
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert str(DEPTH) in error["message"]
    # One level higher it fits exactly.
    moved = (await shallow.data(MOVE_FOLDER, {"id": parent, "to": deep[0]}))["moveFolder"]
    assert moved["path"] == "a0/moved"


async def test_moving_a_script_onto_a_name_taken_there(alice: GraphQLClient) -> None:
    target = (await folder(alice, "clash-target"))["id"]
    await script(alice, "same.py", "print('there')\n", target)
    here = await script(alice, "same.py", "print('here')\n")
    error = await alice.error(MOVE_SCRIPT, {"id": here["id"], "to": target})
    assert error["extensions"]["code"] == "ALREADY_EXISTS", error
    shown = (await alice.data(SCRIPT_BY_ID, {"id": here["id"]}))["script"]
    assert shown["path"] == "same.py"


async def test_moving_a_folder_onto_a_name_taken_there(alice: GraphQLClient) -> None:
    target = (await folder(alice, "fclash-target"))["id"]
    await folder(alice, "same", target)
    here = (await folder(alice, "same"))["id"]
    error = await alice.error(MOVE_FOLDER, {"id": here, "to": target})
    assert error["extensions"]["code"] == "ALREADY_EXISTS", error
    # A script of that name there clashes too: names are unique per folder.
    other = (await folder(alice, "fclash-other"))["id"]
    await script(alice, "same", "echo hi\n", other, language="SHELL")
    error = await alice.error(MOVE_FOLDER, {"id": here, "to": other})
    assert error["extensions"]["code"] == "ALREADY_EXISTS", error


RACERS = 8
ROUNDS = 10


async def test_racing_saves_of_one_script_conflict_and_keep_versions_consistent(
    alice: GraphQLClient,
) -> None:
    created = await script(alice, "raced.py", "print(0)\n")
    conflicts = 0
    saved: list[int] = []
    for round_ in range(ROUNDS):
        bodies = await asyncio.gather(
            *(
                alice.execute(
                    UPDATE_SCRIPT,
                    {"id": created["id"], "input": {"content": f"print({round_}, {n})\n"}},
                )
                for n in range(RACERS)
            )
        )
        for body in bodies:
            if body.get("errors"):
                codes = {e["extensions"]["code"] for e in body["errors"]}
                if codes != {"CONFLICT"}:
                    raise GraphQLErrorResponse(body["errors"])
                conflicts += 1
            else:
                saved.append(body["data"]["updateScript"]["version"])
        if conflicts:
            break
    assert conflicts, f"{ROUNDS} rounds of {RACERS} racing saves never conflicted"
    # Every save that succeeded made exactly one version; none was lost or doubled.
    assert len(saved) == len(set(saved)), saved
    shown = (await alice.data(SCRIPT_BY_ID, {"id": created["id"]}))["script"]
    assert shown["version"] == 1 + len(saved)
    assert sorted(v["version"] for v in shown["versions"]) == list(range(1, 2 + len(saved)))
