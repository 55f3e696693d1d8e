"""The caller's tree as the client sees it: every folder and script by its
path, read level by level (GraphQL has no recursion, so a query nests a few
levels and the folders at its edge are read again)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from client.http import Api

LEVELS = 4
# Folders read again in one request, each under an alias: few enough that
# the request stays under the service's query cost limit.
BATCH = 4

SCRIPT_FIELDS = "id name path version language versions { version sha256 }"


def _folder_selection(levels: int) -> str:
    inner = f"folders {{ {_folder_selection(levels - 1)} }}" if levels > 1 else "folders { id }"
    return f"id name path scripts {{ {SCRIPT_FIELDS} }} {inner}"


@dataclass(frozen=True)
class RemoteScript:
    id: str
    path: str
    version: int
    sha256: str
    language: str


@dataclass(frozen=True)
class RemoteFolder:
    id: str
    path: str


@dataclass
class RemoteTree:
    folders: dict[str, RemoteFolder] = field(default_factory=dict)
    scripts: dict[str, RemoteScript] = field(default_factory=dict)

    def under(self, root: str) -> RemoteTree:
        """The part below folder `root` ('' for the top), paths made relative to it."""
        prefix = f"{root}/" if root else ""
        return RemoteTree(
            {p[len(prefix) :]: f for p, f in self.folders.items() if p.startswith(prefix)},
            {p[len(prefix) :]: s for p, s in self.scripts.items() if p.startswith(prefix)},
        )

    def children(self, root: str) -> tuple[list[RemoteFolder], list[RemoteScript]]:
        below = self.under(root)
        return (
            [f for p, f in sorted(below.folders.items()) if "/" not in p],
            [s for p, s in sorted(below.scripts.items()) if "/" not in p],
        )


def _script(node: dict[str, Any]) -> RemoteScript:
    versions = node.get("versions") or []
    current = [v for v in versions if v["version"] == node["version"]] or versions[-1:]
    return RemoteScript(
        id=str(node["id"]),
        path=str(node["path"]),
        version=int(node["version"]),
        sha256=str(current[0]["sha256"]) if current else "",
        language=str(node["language"]),
    )


def _take(tree: RemoteTree, folders: Iterable[dict[str, Any]], edge: list[str]) -> None:
    for folder in folders:
        if "path" not in folder:  # beyond the levels read: read it again
            edge.append(str(folder["id"]))
            continue
        tree.folders[folder["path"]] = RemoteFolder(str(folder["id"]), str(folder["path"]))
        tree.scripts.update((s["path"], _script(s)) for s in folder.get("scripts") or [])
        _take(tree, folder.get("folders") or [], edge)


def read_tree(api: Api) -> RemoteTree:
    tree = RemoteTree()
    top = api.query(
        f"{{ tree {{ scripts {{ {SCRIPT_FIELDS} }} folders {{ {_folder_selection(LEVELS)} }} }} }}"
    )["tree"]
    tree.scripts.update((s["path"], _script(s)) for s in top["scripts"])
    edge: list[str] = []
    _take(tree, top["folders"], edge)
    while edge:
        batch, edge = edge[:BATCH], edge[BATCH:]
        aliases = " ".join(
            f"f{i}: folder(id: {json.dumps(folder_id)}) {{ {_folder_selection(LEVELS)} }}"
            for i, folder_id in enumerate(batch)
        )
        found = api.query(f"{{ {aliases} }}")
        _take(tree, [f for f in found.values() if f], edge)
    return tree
