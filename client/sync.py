"""`push` and `pull` carried out: read both sides, plan (client/sync_plan.py),
show the plan, and only then write.

A push that fails halfway (the service refuses a script, the connection
drops) undoes what it did, newest first: created scripts and folders are
deleted, updated scripts get their previous content back, deleted ones are
created again. So the tree is as before, or as planned."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from client.errors import CliError, Conflict
from client.http import Api
from client.local import LocalTree, read_local
from client.outcomes import ExitCode
from client.sync_plan import Action, Plan, plan_pull, plan_push
from client.sync_state import load_base, save_base
from client.tree import RemoteTree, read_tree


def tree_path(path: str | None) -> str:
    """'/a/b/' and 'a/b' name the same folder; '', '.' and '/' the top."""
    cleaned = (path or "").strip().strip("/")
    return "" if cleaned == "." else cleaned


def joined(root: str, path: str) -> str:
    return f"{root}/{path}" if root else path


def _parent(path: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else parent


@dataclass
class PushPlan:
    root: str
    # The folders of `--to` that do not exist yet, top first.
    new_root_folders: list[str]
    plan: Plan
    local: LocalTree
    remote: RemoteTree


def _missing_root_folders(remote: RemoteTree, root: str) -> list[str]:
    if root in remote.scripts:
        raise Conflict(f"{root} is a script on the server, not a folder")
    missing: list[str] = []
    path = root
    while path and path not in remote.folders:
        if path in remote.scripts:
            raise Conflict(f"{path} is a script on the server, not a folder")
        missing.insert(0, path)
        path = _parent(path)
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

    undo: list[Callable[[], None]] = field(default_factory=list)
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


CREATE_FOLDER = "mutation($n: String!, $p: ID) { createFolder(name: $n, parentId: $p) { id } }"
DELETE_FOLDER = "mutation($id: ID!) { deleteFolder(id: $id) }"
CREATE_SCRIPT = "mutation($i: CreateScriptInput!) { createScript(input: $i) { id version path } }"
UPDATE_SCRIPT = (
    "mutation($id: ID!, $i: UpdateScriptInput!) { updateScript(id: $id, input: $i) { version } }"
)
REVERT_SCRIPT = "mutation($id: ID!, $v: Int!) { revertScript(id: $id, version: $v) { version } }"
DELETE_SCRIPT = "mutation($id: ID!) { deleteScript(id: $id) }"
SCRIPT_TO_KEEP = "query($id: ID!) { script(id: $id) { name content language description } }"


class _Pusher:
    def __init__(self, api: Api, remote: RemoteTree, root: str) -> None:
        self.api = api
        self.root = root
        self.folder_ids: dict[str, str | None] = {"": None}
        self.folder_ids.update((p, f.id) for p, f in remote.folders.items())
        self.remote = remote
        self.journal = _Journal()

    def parent_id(self, full_path: str) -> str | None:
        return self.journal.folder_id(self.folder_ids[_parent(full_path)])

    def create_folder(self, full_path: str) -> None:
        name = PurePosixPath(full_path).name
        made = self.api.query(CREATE_FOLDER, {"n": name, "p": self.parent_id(full_path)})
        folder_id = str(made["createFolder"]["id"])
        self.folder_ids[full_path] = folder_id
        self.journal.undo.append(
            lambda: self._forget(self.api.query(DELETE_FOLDER, {"id": folder_id}))
        )

    def create_script(self, full_path: str, text: str, language: str | None) -> None:
        made = self.api.query(
            CREATE_SCRIPT,
            {
                "i": {
                    "name": PurePosixPath(full_path).name,
                    "folderId": self.parent_id(full_path),
                    "content": text,
                    "language": language,
                }
            },
        )
        script_id = str(made["createScript"]["id"])
        self.journal.undo.append(
            lambda: self._forget(self.api.query(DELETE_SCRIPT, {"id": script_id}))
        )

    def update_script(self, full_path: str, text: str) -> None:
        before = self.remote.scripts[full_path]
        self.api.query(UPDATE_SCRIPT, {"id": before.id, "i": {"content": text}})
        self.journal.undo.append(
            lambda: self._forget(
                self.api.query(REVERT_SCRIPT, {"id": before.id, "v": before.version})
            )
        )

    def delete_script(self, full_path: str) -> None:
        script = self.remote.scripts[full_path]
        kept = self.api.query(SCRIPT_TO_KEEP, {"id": script.id})["script"]
        folder_id = self.folder_ids[_parent(full_path)]
        self.api.query(DELETE_SCRIPT, {"id": script.id})

        def recreate() -> None:
            self.api.query(
                CREATE_SCRIPT,
                {"i": {**kept, "folderId": self.journal.folder_id(folder_id)}},
            )

        self.journal.undo.append(recreate)

    def delete_folder(self, full_path: str) -> None:
        folder_id = self.folder_ids[full_path]
        assert folder_id is not None
        parent_id = self.folder_ids[_parent(full_path)]
        self.api.query(DELETE_FOLDER, {"id": folder_id})

        def recreate() -> None:
            name = PurePosixPath(full_path).name
            made = self.api.query(
                CREATE_FOLDER, {"n": name, "p": self.journal.folder_id(parent_id)}
            )
            self.journal.new_ids[folder_id] = str(made["createFolder"]["id"])

        self.journal.undo.append(recreate)

    @staticmethod
    def _forget(_: dict[str, Any]) -> None:
        return None


def apply_push(api: Api, directory: Path, push: PushPlan) -> None:
    """Writes the plan, or nothing (see the module docstring)."""
    root, local = push.root, push.local
    pusher = _Pusher(api, push.remote, root)
    current = ""
    try:
        for folder in push.new_root_folders:
            current = folder
            pusher.create_folder(folder)
        for step in push.plan.changes:
            current = joined(root, step.path)
            if step.action is Action.CREATE_FOLDER:
                pusher.create_folder(current)
            elif step.action in (Action.CREATE, Action.UPDATE):
                file = local.files[step.path]
                text = file.file.read_bytes().decode("utf-8", errors="strict")
                if step.action is Action.CREATE:
                    pusher.create_script(current, text, file.language)
                else:
                    pusher.update_script(current, text)
            elif step.action is Action.DELETE:
                pusher.delete_script(current)
            elif step.action is Action.DELETE_FOLDER:
                pusher.delete_folder(current)
    except (CliError, UnicodeDecodeError) as exc:
        failures = pusher.journal.roll_back()
        undone = "undone" if not failures else f"could not undo: {'; '.join(failures)}"
        reason = exc.message if isinstance(exc, CliError) else "not UTF-8 text"
        code = exc.code if isinstance(exc, CliError) else "BAD_USER_INPUT"
        exit_code = exc.exit_code if isinstance(exc, CliError) else ExitCode.USAGE
        raise CliError(
            f"push stopped at {current}: {reason}; the changes before it were {undone}",
            exit_code,
            code,
        ) from None
    hashes = {path: file.sha256 for path, file in local.scripts.items()}
    save_base(directory, api.url, root, hashes)


def plan_pull_of(api: Api, source: str, directory: Path, force: bool) -> tuple[Plan, RemoteTree]:
    remote = read_tree(api)
    if source in remote.scripts:
        script = remote.scripts[source]
        name = PurePosixPath(source).name
        below = RemoteTree(scripts={name: script})
    elif source == "" or source in remote.folders:
        below = remote.under(source)
    else:
        raise CliError(f"{source} is not in your tree", ExitCode.SERVICE_ERROR, "NOT_FOUND")
    local = read_local(directory)
    if directory.exists() and not directory.is_dir():
        raise Conflict(f"{directory} is a file, not a folder")
    base = load_base(directory, api.url, source)
    return plan_pull(below, local, base, force), below


CONTENT = "query($id: ID!, $v: Int) { script(id: $id) { content(version: $v) } }"


def apply_pull(api: Api, source: str, directory: Path, plan: Plan, remote: RemoteTree) -> None:
    """Fetches every script first, then writes: a failed fetch writes nothing."""
    contents: dict[str, str] = {}
    for step in plan.of(Action.CREATE, Action.UPDATE):
        script = remote.scripts[step.path]
        found = api.query(CONTENT, {"id": script.id, "v": script.version})["script"]
        contents[step.path] = str(found["content"])
    directory.mkdir(parents=True, exist_ok=True)
    for step in plan.of(Action.CREATE_FOLDER):
        (directory / step.path).mkdir(parents=True, exist_ok=True)
    for path, text in contents.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.scriptbox-partial")
        temporary.write_text(text, encoding="utf-8", newline="")
        temporary.replace(target)
    hashes = {path: script.sha256 for path, script in remote.scripts.items()}
    for path in plan.unchanged:
        hashes[path] = remote.scripts[path].sha256
    with contextlib.suppress(OSError):
        save_base(directory, api.url, source, hashes)
