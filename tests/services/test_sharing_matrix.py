"""The authorization matrix of sharing, table by table: for each role bob
holds in alice's folder `geology` (none, VIEWER, RUNNER, EDITOR; through a
grant to him or to a group of his), each object there and each operation
on it answers exactly as the table says (ok, NOT_FOUND, FORBIDDEN, or a
value). Every cell is checked and every mismatch reported at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.sharing import (
    SHARE,
    SHARED_WITH_ME,
    UNSHARE,
    batch_finished,
    group_of,
    outcome,
    share,
    uid,
    username,
)
from tests.support.tree import folder, script

OK, NF, FB, ABSENT = "ok", "NOT_FOUND", "FORBIDDEN", "absent"
ROLES = (None, "VIEWER", "RUNNER", "EDITOR")
CONFIGS = [(None, None)] + [(role, via) for role in ROLES[1:] for via in ("user", "group")]

CODE = "def main(data):\n    return {'got': data}\n"
SCRIPT_PATH = "geology/analysis.py"


@dataclass
class World:
    alice: GraphQLClient
    bob: GraphQLClient
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"~{username(self.alice)}/{SCRIPT_PATH}"


Act = Callable[[World], Awaitable[str]]


async def ask(world: World, query: str, variables: dict[str, Any], name: str) -> str:
    return outcome(await world.bob.execute(query, variables), name)


def by_id(query: str, name: str, key: str) -> Act:
    async def act(world: World) -> str:
        return await ask(world, query, {"id": world.ids[key]}, name)

    return act


def value_of(query: str, key: str, pick: Callable[[dict[str, Any]], Any]) -> Act:
    """The answer's value (NOT_FOUND for null, or an error's code)."""

    async def act(world: World) -> str:
        body = await world.bob.execute(query, {"id": world.ids[key]})
        if body.get("errors"):
            return str(body["errors"][0]["extensions"]["code"])
        found = body["data"]
        return NF if next(iter(found.values())) is None else str(pick(found))

    return act


async def shared_ids(world: World) -> set[str]:
    """Every folder and script id bob reaches through sharedWithMe."""
    ids: set[str] = set()
    for root in (await world.bob.data(SHARED_WITH_ME))["sharedWithMe"]:
        ids |= {root["id"]} | {s["id"] for s in root["scripts"]}
        for sub in root["folders"]:
            ids |= {sub["id"]} | {s["id"] for s in sub["scripts"]}
    return ids


def in_shared(key: str) -> Act:
    async def act(world: World) -> str:
        return OK if world.ids[key] in await shared_ids(world) else ABSENT

    return act


def in_own_tree(key: str) -> Act:
    async def act(world: World) -> str:
        tree = (await world.bob.data("{ tree { folders { id } scripts { id } } }"))["tree"]
        listed = {row["id"] for row in tree["folders"] + tree["scripts"]}
        return OK if world.ids[key] in listed else ABSENT

    return act


def run_by(argument: str) -> Act:
    query = "mutation($i: RunScriptInput!) { runScript(input: $i) { id status } }"

    async def act(world: World) -> str:
        where = {"scriptId": world.ids["script"]} if argument == "id" else {"path": world.path}
        body = await world.bob.execute(query, {"i": {**where, "wait": True, "input": 1}})
        result = outcome(body, "runScript")
        if result == OK:
            assert body["data"]["runScript"]["status"] == "SUCCEEDED", body
        return result

    return act


async def run_by_rest(world: World) -> str:
    response = await world.bob.http.post(
        f"{world.bob.base_url}/api/v1/scripts/{world.path}",
        json={"data": 2},
        headers=world.bob.headers(),
    )
    body = response.json()
    if body["success"]:
        assert body["result"] == {"got": 2}
        return OK
    expected_status = {NF: 404, FB: 403}.get(body["error"]["code"])
    assert response.status_code == expected_status, (response.status_code, body)
    return str(body["error"]["code"])


async def schedule_by_path(world: World) -> str:
    query = """mutation($p: String!) { createSchedule(input: {path: $p, cron: "0 0 1 1 *",
      enabled: false}) { id } }"""
    return await ask(world, query, {"p": world.path}, "createSchedule")


async def batch_by_path(world: World) -> str:
    query = "mutation($p: String!) { runBatch(path: $p, inputs: [1, 2]) { id } }"
    body = await world.bob.execute(query, {"p": world.path})
    result = outcome(body, "runBatch")
    if result == OK:
        await batch_finished(world.bob, body["data"]["runBatch"]["id"])
    return result


def mutation(query: str, name: str, **variables: str) -> Act:
    """`variables`: name -> a key of `world.ids`, or a literal after '='."""

    async def act(world: World) -> str:
        values = {
            var: key[1:] if key.startswith("=") else world.ids[key]
            for var, key in variables.items()
        }
        return await ask(world, query, values, name)

    return act


async def share_on(world: World) -> str:
    variables = {"f": world.ids["geology"], "u": uid(world.alice), "r": "VIEWER"}
    return await ask(world, SHARE, variables, "shareFolder")


async def executions_listed(world: World) -> str:
    query = "query($s: ID!) { executions(scriptId: $s, first: 100) { id } }"
    body = await world.bob.execute(query, {"s": world.ids["script"]})
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    listed = {row["id"] for row in body["data"]["executions"]}
    return OK if world.ids["alice_run"] in listed else ABSENT


FOLDER = "query($id: ID!) { folder(id: $id) { id } }"
FOLDER_PATH = "query($id: ID!) { folder(id: $id) { path parent { id } } }"
FOLDER_ROLE = "query($id: ID!) { folder(id: $id) { myRole grants { id } owner { id } } }"
SCRIPT = "query($id: ID!) { script(id: $id) { id } }"
SCRIPT_BY_PATH = "query($id: String!) { script(path: $id) { id } }"
SCRIPT_PATH_Q = "query($id: ID!) { script(id: $id) { path owner { username } folder { id } } }"
CONTENT = "query($id: ID!) { script(id: $id) { content versions { version } } }"
CONTENT_V1 = "query($id: ID!) { script(id: $id) { content(version: 1) } }"
EXECUTION = "query($id: ID!) { execution(id: $id) { id } }"
SCHEDULE = "query($id: ID!) { schedule(id: $id) { id } }"
BATCH = "query($id: ID!) { batch(id: $id) { id } }"
RENAME_FOLDER = "mutation($id: ID!, $n: String!) { renameFolder(id: $id, name: $n) { id } }"
MOVE_FOLDER = "mutation($id: ID!, $to: ID) { moveFolder(id: $id, parentId: $to) { id } }"
DELETE_FOLDER = "mutation($id: ID!) { deleteFolder(id: $id) }"
CREATE_FOLDER = "mutation($n: String!, $p: ID) { createFolder(name: $n, parentId: $p) { id } }"
CREATE_SCRIPT = """mutation($n: String!, $p: ID) {
  createScript(input: {name: $n, folderId: $p, content: "print(1)"}) { id } }"""
UPDATE_SCRIPT = """mutation($id: ID!) {
  updateScript(id: $id, input: {description: "bob was here"}) { id } }"""
REVERT = "mutation($id: ID!) { revertScript(id: $id, version: 1) { id } }"
MOVE_SCRIPT = "mutation($id: ID!, $to: ID) { moveScript(id: $id, folderId: $to) { id } }"
DELETE_SCRIPT = "mutation($id: ID!) { deleteScript(id: $id) }"
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { id } }"
UPDATE_SCHEDULE = """mutation($id: ID!) {
  updateSchedule(id: $id, input: {name: "renamed"}) { id } }"""
DELETE_SCHEDULE = "mutation($id: ID!) { deleteSchedule(id: $id) }"


def expect(none: str, viewer: str, runner: str, editor: str) -> dict[str | None, str]:
    return dict(zip(ROLES, (none, viewer, runner, editor), strict=True))


def every(value: str) -> dict[str | None, str]:
    return expect(value, value, value, value)


SEES = expect(NF, OK, OK, OK)
LISTED = expect(ABSENT, OK, OK, OK)
RUNS = expect(NF, FB, OK, OK)
EDITS = expect(NF, FB, FB, OK)
OWNERS_ONLY = expect(NF, FB, FB, FB)
EDITORS_SEE = expect(NF, NF, NF, OK)


@dataclass(frozen=True)
class Cell:
    object: str
    operation: str
    expected: dict[str | None, str]
    act: Act


# In order: what changes the world comes after what only looks at it.
MATRIX: list[Cell] = [
    # The shared folder itself: seen by every role, changed only by its owner.
    Cell("shared folder", "see by id", SEES, by_id(FOLDER, "folder", "geology")),
    Cell("shared folder", "see in sharedWithMe", LISTED, in_shared("geology")),
    Cell("shared folder", "see in own tree", every(ABSENT), in_own_tree("geology")),
    Cell(
        "shared folder",
        "myRole/grants/owner",
        expect(NF, "VIEWER/0", "RUNNER/0", "EDITOR/0"),
        value_of(
            FOLDER_ROLE,
            "geology",
            lambda d: f"{d['folder']['myRole']}/{len(d['folder']['grants'])}",
        ),
    ),
    Cell(
        "shared folder",
        "rename",
        OWNERS_ONLY,
        mutation(RENAME_FOLDER, "renameFolder", id="geology", n="=x"),
    ),
    Cell(
        "shared folder",
        "move into an unshared folder",
        every(NF),
        mutation(MOVE_FOLDER, "moveFolder", id="geology", to="private"),
    ),
    Cell(
        "shared folder",
        "move to top",
        OWNERS_ONLY,
        mutation(MOVE_FOLDER, "moveFolder", id="geology"),
    ),
    Cell(
        "shared folder",
        "delete",
        OWNERS_ONLY,
        mutation(DELETE_FOLDER, "deleteFolder", id="geology"),
    ),
    Cell("shared folder", "share", OWNERS_ONLY, share_on),
    Cell(
        "shared folder",
        "create folder inside",
        EDITS,
        mutation(CREATE_FOLDER, "createFolder", p="geology", n="=made"),
    ),
    Cell(
        "shared folder",
        "create script inside",
        EDITS,
        mutation(CREATE_SCRIPT, "createScript", p="geology", n="=made.py"),
    ),
    # A folder inside it: the grant covers the subtree.
    Cell("subfolder", "see by id", SEES, by_id(FOLDER, "folder", "sub")),
    Cell("subfolder", "see in sharedWithMe", LISTED, in_shared("sub")),
    Cell(
        "subfolder",
        "path and parent",
        expect(NF, "geology/sub", "geology/sub", "geology/sub"),
        value_of(
            FOLDER_PATH,
            "sub",
            lambda d: d["folder"]["path"] if d["folder"]["parent"] else "no parent",
        ),
    ),
    Cell(
        "subfolder",
        "rename",
        EDITS,
        mutation(RENAME_FOLDER, "renameFolder", id="renamable", n="=renamed"),
    ),
    Cell("subfolder", "move", EDITS, mutation(MOVE_FOLDER, "moveFolder", id="movable", to="sub")),
    Cell(
        "subfolder", "move out (to top)", OWNERS_ONLY, mutation(MOVE_FOLDER, "moveFolder", id="sub")
    ),
    Cell(
        "subfolder",
        "move out (unshared folder)",
        every(NF),
        mutation(MOVE_FOLDER, "moveFolder", id="sub", to="private"),
    ),
    Cell(
        "subfolder",
        "create folder inside",
        EDITS,
        mutation(CREATE_FOLDER, "createFolder", p="sub", n="=made"),
    ),
    Cell("subfolder", "delete", EDITS, mutation(DELETE_FOLDER, "deleteFolder", id="doomed")),
    # The script and its content.
    Cell("script", "see by id", SEES, by_id(SCRIPT, "script", "script")),
    Cell("script", "see by ~path", SEES, by_id(SCRIPT_BY_PATH, "script", "script_path")),
    Cell("script", "see in sharedWithMe", LISTED, in_shared("script")),
    Cell(
        "script",
        "path/owner/folder",
        expect(NF, SCRIPT_PATH, SCRIPT_PATH, SCRIPT_PATH),
        value_of(
            SCRIPT_PATH_Q,
            "script",
            lambda d: d["script"]["path"] if d["script"]["folder"] else "no folder",
        ),
    ),
    Cell("script", "run by id", RUNS, run_by("id")),
    Cell("script", "run by ~path", RUNS, run_by("path")),
    Cell("script", "run by REST ~path", RUNS, run_by_rest),
    Cell("script", "schedule by ~path", RUNS, schedule_by_path),
    Cell("script", "batch by ~path", RUNS, batch_by_path),
    Cell("script", "update", EDITS, mutation(UPDATE_SCRIPT, "updateScript", id="script")),
    Cell(
        "script", "move out (to top)", OWNERS_ONLY, mutation(MOVE_SCRIPT, "moveScript", id="script")
    ),
    Cell(
        "script", "move", EDITS, mutation(MOVE_SCRIPT, "moveScript", id="movable_script", to="sub")
    ),
    Cell("script", "delete", EDITS, mutation(DELETE_SCRIPT, "deleteScript", id="doomed_script")),
    Cell("content/versions", "see", SEES, by_id(CONTENT, "script", "script")),
    Cell("content/versions", "see version 1", SEES, by_id(CONTENT_V1, "script", "script")),
    Cell("content/versions", "revert", EDITS, mutation(REVERT, "revertScript", id="script")),
    # Runs: the owner's are seen by editors only; one's own always.
    Cell("owner's execution", "see by id", EDITORS_SEE, by_id(EXECUTION, "execution", "alice_run")),
    Cell("owner's execution", "see in list", expect(NF, ABSENT, ABSENT, OK), executions_listed),
    Cell(
        "owner's execution",
        "cancel",
        EDITORS_SEE,
        mutation(CANCEL, "cancelExecution", id="alice_run"),
    ),
    Cell("own execution", "see by id", every(OK), by_id(EXECUTION, "execution", "bob_run")),
    Cell("own execution", "cancel", every(OK), mutation(CANCEL, "cancelExecution", id="bob_run")),
    Cell(
        "owner's schedule", "see by id", EDITORS_SEE, by_id(SCHEDULE, "schedule", "alice_schedule")
    ),
    Cell(
        "owner's schedule",
        "update",
        expect(NF, NF, NF, FB),
        mutation(UPDATE_SCHEDULE, "updateSchedule", id="alice_schedule"),
    ),
    Cell(
        "owner's schedule",
        "delete",
        expect(NF, NF, NF, FB),
        mutation(DELETE_SCHEDULE, "deleteSchedule", id="alice_schedule"),
    ),
    Cell("own schedule", "see by id", every(OK), by_id(SCHEDULE, "schedule", "bob_schedule")),
    Cell(
        "own schedule",
        "update",
        every(OK),
        mutation(UPDATE_SCHEDULE, "updateSchedule", id="bob_schedule"),
    ),
    Cell(
        "own schedule",
        "delete",
        every(OK),
        mutation(DELETE_SCHEDULE, "deleteSchedule", id="bob_schedule"),
    ),
    Cell("owner's batch", "see by id", EDITORS_SEE, by_id(BATCH, "batch", "alice_batch")),
    Cell("own batch", "see by id", every(OK), by_id(BATCH, "batch", "bob_batch")),
]


async def started_by(client: GraphQLClient, world: World, tag: str) -> None:
    """A run, a schedule and a batch of the script, started by `client`."""
    run = "mutation($id: ID!) { runScript(input: {scriptId: $id, wait: true}) { id status } }"
    done = (await client.data(run, {"id": world.ids["script"]}))["runScript"]
    assert done["status"] == "SUCCEEDED", done
    scheduled = """mutation($id: ID!) { createSchedule(input: {scriptId: $id,
      cron: "0 0 1 1 *", enabled: false}) { id } }"""
    batch = "mutation($id: ID!) { runBatch(scriptId: $id, inputs: [1]) { id } }"
    world.ids[f"{tag}_run"] = done["id"]
    world.ids[f"{tag}_schedule"] = (await client.data(scheduled, {"id": world.ids["script"]}))[
        "createSchedule"
    ]["id"]
    world.ids[f"{tag}_batch"] = (await client.data(batch, {"id": world.ids["script"]}))["runBatch"][
        "id"
    ]
    await batch_finished(client, world.ids[f"{tag}_batch"])


async def world_of(alice: GraphQLClient, bob: GraphQLClient) -> World:
    world = World(alice, bob)
    ids = world.ids
    ids["geology"] = (await folder(alice, "geology"))["id"]
    ids["private"] = (await folder(alice, "private"))["id"]
    for name in ("sub", "renamable", "movable", "doomed"):
        ids[name] = (await folder(alice, name, ids["geology"]))["id"]
    ids["script"] = (await script(alice, "analysis.py", CODE, ids["geology"]))["id"]
    ids["script_path"] = world.path
    await alice.data(UPDATE_SCRIPT, {"id": ids["script"]})  # a second version
    for name in ("movable_script", "doomed_script"):
        ids[name] = (await script(alice, f"{name}.py", CODE, ids["geology"]))["id"]
    await started_by(alice, world, "alice")
    # Bob's own run, schedule and batch, from when he could run the script.
    grant = await share(alice, ids["geology"], "RUNNER", user=bob)
    await started_by(bob, world, "bob")
    await alice.data(UNSHARE, {"id": grant["id"]})
    return world


@pytest.mark.parametrize(("role", "via"), CONFIGS, ids=[f"{r}-{v}" for r, v in CONFIGS])
async def test_authorization_matrix(
    alice: GraphQLClient,
    bob: GraphQLClient,
    admin: GraphQLClient,
    role: str | None,
    via: str | None,
) -> None:
    world = await world_of(alice, bob)
    if role is not None and via == "user":
        await share(alice, world.ids["geology"], role, user=bob)
    elif role is not None:
        await share(alice, world.ids["geology"], role, group_id=await group_of(admin, bob))
    mismatches = []
    for cell in MATRIX:
        got = await cell.act(world)
        if got != cell.expected[role]:
            mismatches.append(
                f"{cell.object} / {cell.operation}: {got}, expected {cell.expected[role]}"
            )
    assert not mismatches, "\n".join(mismatches)
