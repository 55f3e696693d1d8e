"""`pull` carried out: plan (client/sync_plan.py), then fetch every script
that changes before writing any, so a failed fetch writes nothing; each file
is written beside its place and renamed over it, never left half-written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from client.errors import Conflict, ServiceError
from client.http import Api
from client.local import read_local
from client.paths import name_of
from client.sync_plan import Action, Plan, plan_pull
from client.sync_state import load_base, save_base
from client.tree import RemoteTree, read_tree

CONTENT = "query($id: ID!, $v: Int) { script(id: $id) { content(version: $v) } }"


@dataclass
class PullPlan:
    source: str
    plan: Plan
    remote: RemoteTree


def plan_pull_of(api: Api, source: str, directory: Path, force: bool) -> PullPlan:
    if directory.exists() and not directory.is_dir():
        raise Conflict(f"{directory} is a file, not a folder")
    remote = read_tree(api)
    if source in remote.scripts:
        below = RemoteTree(scripts={name_of(source): remote.scripts[source]})
    elif source == "" or source in remote.folders:
        below = remote.under(source)
    else:
        raise ServiceError(f"{source} is not in your tree", "NOT_FOUND")
    base = load_base(directory, api.url, source)
    return PullPlan(source, plan_pull(below, read_local(directory), base, force), below)


def apply_pull(api: Api, directory: Path, pull: PullPlan) -> None:
    contents: dict[str, str] = {}
    for step in pull.plan.of(Action.CREATE, Action.UPDATE):
        script = pull.remote.scripts[step.path]
        found = api.query(CONTENT, {"id": script.id, "v": script.version})["script"]
        contents[step.path] = str(found["content"])
    directory.mkdir(parents=True, exist_ok=True)
    for step in pull.plan.of(Action.CREATE_FOLDER):
        (directory / step.path).mkdir(parents=True, exist_ok=True)
    for path, text in contents.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.scriptbox-partial")
        partial.write_text(text, encoding="utf-8", newline="")
        partial.replace(target)
    hashes = {path: script.sha256 for path, script in pull.remote.scripts.items()}
    save_base(directory, api.url, pull.source, hashes)
