"""`push` carried out: read both sides, plan (client/sync_plan.py), and only
after the plan is shown, write.

A push that fails halfway (the service refuses a script, the connection
drops) undoes what it did, newest first: created scripts and folders are
deleted, updated scripts get their previous content back (as a new
version), deleted ones are created again. So the tree is as it was, or as
planned."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client.errors import CliError, Conflict
from client.http import Api
from client.local import LocalTree, read_local
from client.outcomes import ExitCode
from client.paths import joined, name_of, parent_of
from client.sync_plan import Action, Plan, plan_push
from client.sync_state import load_base, save_base
from client.tree import RemoteTree, read_tree

CREATE_FOLDER = "mutation($n: String!, $p: ID) { createFolder(name: $n, parentId: $p) { id } }"
DELETE_FOLDER = "mutation($id: ID!) { deleteFolder(id: $id) }"
CREATE_SCRIPT = "mutation($i: CreateScriptInput!) { createScript(input: $i) { id } }"
UPDATE_SCRIPT = (
    "mutation($id: ID!, $i: UpdateScriptInput!) { updateScript(id: $id, input: $i) { version } }"
)
REVERT_SCRIPT = "mutation($id: ID!, $v: Int!) { revertScript(id: $id, version: $v) { version } }"
DELETE_SCRIPT = "mutation($id: ID!) { deleteScript(id: $id) }"
SCRIPT_TO_KEEP = "query($id: ID!) { script(id: $id) { name content language description } }"


@dataclass
class PushPlan:
    root: str
    # The folders of `--to` that do not exist yet, top first.
    new_root_folders: list[str]
    plan: Plan
    local: LocalTree
    remote: RemoteTree


def _missing_root_folders(remote: RemoteTree, root: str) -> list[str]:
    missing: list[str] = []
    path = root
    while path and path not in remote.folders:
        if path in remote.scripts:
            raise Conflict(f"{path} is a script on the server, not a folder")
        missing.insert(0, path)
        path = parent_of(path)
    return missing


def plan_push_of(api: Api, directory: Path, root: str, delete: bool, force: bool) -> PushPlan:
    if not directory.is_dir():
        raise CliError(f"{directory} is not a folder", ExitCode.USAGE)
    local = read_local(directory)
    remote = read_tree(api)
    missing = _missing_root_folders(remote, root)
    base = load_base(directory, api.url, root)
    plan = plan_push(local, remote.under(root), base, delete, force)
    return PushPlan(root, missing, plan, local, remote)


@dataclass
class _Journal:
    """What a push did, each with its undo, to roll back a failure."""

    undo: list[Callable[[], object]] = field(default_factory=list)
    # A deleted folder comes back with a new id: its old id maps to it.
    new_ids: dict[str, str] = field(default_factory=dict)

    def folder_id(self, folder_id: str | None) -> str | None:
        return None if folder_id is None else self.new_ids.get(folder_id, folder_id)

    def roll_back(self) -> list[str]:
        failures: list[str] = []
        for step in reversed(self.undo):
            try:
                step()
            except CliError as exc:
                failures.append(str(exc))
        return failures


class _Pusher:
    """One push's writes, each recorded with its undo."""

    def __init__(self, api: Api, remote: RemoteTree) -> None:
        self.api = api
        self.remote = remote
        self.folder_ids: dict[str, str | None] = {"": None}
        self.folder_ids.update((p, f.id) for p, f in remote.folders.items())
        self.journal = _Journal()

    def _undo(self, document: str, variables: dict[str, Any]) -> None:
        self.journal.undo.append(functools.partial(self.api.query, document, variables))

    def _parent_id(self, path: str) -> str | None:
        return self.journal.folder_id(self.folder_ids[parent_of(path)])

    def create_folder(self, path: str) -> None:
        made = self.api.query(CREATE_FOLDER, {"n": name_of(path), "p": self._parent_id(path)})
        folder_id = str(made["createFolder"]["id"])
        self.folder_ids[path] = folder_id
        self._undo(DELETE_FOLDER, {"id": folder_id})

    def create_script(self, path: str, text: str, language: str | None) -> None:
        script = {
            "name": name_of(path),
            "folderId": self._parent_id(path),
            "content": text,
            "language": language,
        }
        made = self.api.query(CREATE_SCRIPT, {"i": script})
        self._undo(DELETE_SCRIPT, {"id": str(made["createScript"]["id"])})

    def update_script(self, path: str, text: str) -> None:
        before = self.remote.scripts[path]
        self.api.query(UPDATE_SCRIPT, {"id": before.id, "i": {"content": text}})
        self._undo(REVERT_SCRIPT, {"id": before.id, "v": before.version})

    def delete_script(self, path: str) -> None:
        script = self.remote.scripts[path]
        kept = self.api.query(SCRIPT_TO_KEEP, {"id": script.id})["script"]
        folder_id = self.folder_ids[parent_of(path)]
        self.api.query(DELETE_SCRIPT, {"id": script.id})

        def recreate() -> None:
            again = {**kept, "folderId": self.journal.folder_id(folder_id)}
            self.api.query(CREATE_SCRIPT, {"i": again})

        self.journal.undo.append(recreate)

    def delete_folder(self, path: str) -> None:
        folder_id = self.folder_ids[path]
        assert folder_id is not None, "the top of the tree is never deleted"
        parent_id = self.folder_ids[parent_of(path)]
        self.api.query(DELETE_FOLDER, {"id": folder_id})

        def recreate() -> None:
            parent = self.journal.folder_id(parent_id)
            made = self.api.query(CREATE_FOLDER, {"n": name_of(path), "p": parent})
            self.journal.new_ids[folder_id] = str(made["createFolder"]["id"])

        self.journal.undo.append(recreate)

    def apply(self, step_path: str, action: Action, local: LocalTree, relative: str) -> None:
        if action is Action.CREATE_FOLDER:
            self.create_folder(step_path)
        elif action in (Action.CREATE, Action.UPDATE):
            file = local.files[relative]
            text = file.file.read_bytes().decode("utf-8")
            if action is Action.CREATE:
                self.create_script(step_path, text, file.language)
            else:
                self.update_script(step_path, text)
        elif action is Action.DELETE:
            self.delete_script(step_path)
        elif action is Action.DELETE_FOLDER:
            self.delete_folder(step_path)


def apply_push(api: Api, directory: Path, push: PushPlan) -> None:
    """Writes the plan, or nothing (see the module docstring), then records
    the synced hashes in the folder."""
    pusher = _Pusher(api, push.remote)
    current = ""
    try:
        for folder in push.new_root_folders:
            current = folder
            pusher.create_folder(folder)
        for step in push.plan.changes:
            current = joined(push.root, step.path)
            pusher.apply(current, step.action, push.local, step.path)
    except (CliError, UnicodeDecodeError) as exc:
        failures = pusher.journal.roll_back()
        undone = f"could not be undone: {'; '.join(failures)}" if failures else "undone"
        if isinstance(exc, CliError):
            reason, code, exit_code = exc.message, exc.code, exc.exit_code
        else:
            reason, code, exit_code = "not UTF-8 text", "BAD_USER_INPUT", ExitCode.USAGE
        raise CliError(
            f"push stopped at {current}: {reason}; the changes before it were {undone}",
            exit_code,
            code,
        ) from None
    hashes = {path: file.sha256 for path, file in push.local.scripts.items()}
    save_base(directory, api.url, push.root, hashes)
