"""What `push` and `pull` would do, decided before anything is written.

The rules (README, "From the command line"):
- A path that is a folder on one side and a file on the other is a conflict.
- push: a script whose server content differs from the local file is
  updated, unless it changed on the server since this folder's last sync
  (its hash differs from the one recorded then): that is someone else's
  work, a conflict. A folder never synced has no record, and the local
  file wins. With --delete, a script on the server with no local file is
  deleted, unless it changed on the server since the last sync.
- pull: a local file that differs from the server's is overwritten only
  when it is as the last sync left it; a local edit not yet pushed (or a
  file never synced) is a conflict. Pull deletes nothing.
- One conflict stops the whole command: nothing is written. --force
  turns the "changed since" conflicts into updates (never the folder/file
  ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from client.local import LANGUAGES, LocalTree
from client.tree import RemoteTree


class Action(StrEnum):
    CREATE_FOLDER = "create folder"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    DELETE_FOLDER = "delete folder"
    SKIP = "skip"
    CONFLICT = "conflict"


CHANGES = (Action.CREATE_FOLDER, Action.CREATE, Action.UPDATE, Action.DELETE, Action.DELETE_FOLDER)


@dataclass(frozen=True)
class Step:
    action: Action
    path: str
    detail: str = ""


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def add(self, action: Action, path: str, detail: str = "") -> None:
        self.steps.append(Step(action, path, detail))

    def of(self, *actions: Action) -> list[Step]:
        return [s for s in self.steps if s.action in actions]

    @property
    def conflicts(self) -> list[Step]:
        return self.of(Action.CONFLICT)

    @property
    def changes(self) -> list[Step]:
        return self.of(*CHANGES)


def _depth_first(paths: set[str]) -> list[str]:
    return sorted(paths, key=lambda p: (-p.count("/"), p))


def plan_push(
    local: LocalTree, remote: RemoteTree, base: dict[str, str], delete: bool, force: bool
) -> Plan:
    """`remote` holds paths relative to the target folder, as `local` does."""
    plan = Plan()
    for folder in sorted(local.folders):
        if folder in remote.scripts:
            plan.add(Action.CONFLICT, folder, "a folder here, a script on the server")
        elif folder not in remote.folders:
            plan.add(Action.CREATE_FOLDER, folder)
    for path, file in sorted(local.scripts.items()):
        server = remote.scripts.get(path)
        if path in remote.folders:
            plan.add(Action.CONFLICT, path, "a file here, a folder on the server")
        elif server is None:
            plan.add(Action.CREATE, path)
        elif server.sha256 == file.sha256:
            plan.unchanged.append(path)
        elif path in base and base[path] != server.sha256 and not force:
            plan.add(
                Action.CONFLICT,
                path,
                f"changed on the server since the last sync (now v{server.version}); "
                "pull it first, or push --force to overwrite",
            )
        else:
            plan.add(Action.UPDATE, path, f"v{server.version} -> v{server.version + 1}")
    extensions = ", ".join(LANGUAGES)
    for path in local.others:
        if path in remote.folders:
            plan.add(Action.CONFLICT, path, "a file here, a folder on the server")
        else:
            plan.add(Action.SKIP, path, f"not a script: {extensions}")
    if delete:
        for path, server in sorted(remote.scripts.items()):
            if path in local.files or path in local.folders:
                continue
            if path in base and base[path] != server.sha256 and not force:
                plan.add(
                    Action.CONFLICT,
                    path,
                    f"changed on the server since the last sync (now v{server.version}); "
                    "not deleting it",
                )
            else:
                plan.add(Action.DELETE, path)
        gone = {f for f in remote.folders if f not in local.folders and f not in local.files}
        for folder in _depth_first(gone):
            plan.add(Action.DELETE_FOLDER, folder)
    return plan


def plan_pull(remote: RemoteTree, local: LocalTree, base: dict[str, str], force: bool) -> Plan:
    plan = Plan()
    for folder in sorted(remote.folders):
        if folder in local.files:
            plan.add(Action.CONFLICT, folder, "a folder on the server, a file here")
        elif folder not in local.folders:
            plan.add(Action.CREATE_FOLDER, folder)
    for path, server in sorted(remote.scripts.items()):
        here = local.files.get(path)
        if path in local.folders:
            plan.add(Action.CONFLICT, path, "a script on the server, a folder here")
        elif here is None:
            plan.add(Action.CREATE, path, f"v{server.version}")
        elif here.sha256 == server.sha256:
            plan.unchanged.append(path)
        elif base.get(path) == here.sha256 or force:
            plan.add(Action.UPDATE, path, f"v{server.version}")
        else:
            plan.add(
                Action.CONFLICT,
                path,
                "changed here since the last sync; push it first, or pull --force to overwrite",
            )
    return plan
