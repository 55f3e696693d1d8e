"""An in-memory view of one owner's tree: paths, children, depth and lookups
by path answered from rows already loaded (services/tree.py loads them, one
query per table), so a tree of any size costs the same number of SQL
statements. Pure: it reads the rows it is given and nothing else."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from models.tree import Folder, Script


def _key(value: uuid.UUID | str | None) -> str | None:
    return None if value is None else str(value)


class FolderIndex:
    def __init__(self, folders: Iterable[Folder]) -> None:
        self._by_id: dict[str, Folder] = {}
        self._children: dict[str | None, list[Folder]] = defaultdict(list)
        for folder in folders:
            self._by_id[str(folder.id)] = folder
            self._children[_key(folder.parent_id)].append(folder)
        for siblings in self._children.values():
            siblings.sort(key=lambda f: f.name)
        self._paths: dict[str, str] = {}

    def get(self, folder_id: uuid.UUID | str | None) -> Folder | None:
        if folder_id is None:
            return None
        return self._by_id.get(str(folder_id))

    def children(self, folder_id: uuid.UUID | str | None) -> list[Folder]:
        return self._children.get(_key(folder_id), [])

    def child_named(self, folder_id: uuid.UUID | str | None, name: str) -> Folder | None:
        return next((f for f in self.children(folder_id) if f.name == name), None)

    def path(self, folder_id: uuid.UUID | str | None) -> str:
        """Names from the top down to this folder, joined by '/'; '' for the top."""
        if folder_id is None:
            return ""
        key = str(folder_id)
        cached = self._paths.get(key)
        if cached is not None:
            return cached
        names: list[str] = []
        seen: set[str] = set()
        current = self._by_id.get(key)
        while current is not None and str(current.id) not in seen:
            seen.add(str(current.id))
            names.append(current.name)
            current = self.get(current.parent_id)
        path = "/".join(reversed(names))
        self._paths[key] = path
        return path

    def depth(self, folder_id: uuid.UUID | str | None) -> int:
        """1 for a top-level folder, 0 for the top itself."""
        return 0 if folder_id is None else self.path(folder_id).count("/") + 1

    def subtree_ids(self, folder_id: uuid.UUID | str) -> list[str]:
        """This folder and every folder below it."""
        result: list[str] = []
        stack = [str(folder_id)]
        while stack:
            current = stack.pop()
            result.append(current)
            stack.extend(str(child.id) for child in self.children(current))
        return result

    def subtree_height(self, folder_id: uuid.UUID | str) -> int:
        """Levels in this folder's subtree, itself included (1 for a leaf)."""
        children = self.children(folder_id)
        return 1 + max((self.subtree_height(child.id) for child in children), default=0)

    def resolve(self, segments: list[str]) -> Folder | None:
        """The folder at these names from the top, or None."""
        current: Folder | None = None
        for name in segments:
            current = self.child_named(None if current is None else current.id, name)
            if current is None:
                return None
        return current


class ScriptIndex:
    def __init__(self, scripts: Iterable[Script]) -> None:
        self._by_folder: dict[str | None, list[Script]] = defaultdict(list)
        for script in scripts:
            self._by_folder[_key(script.folder_id)].append(script)
        for siblings in self._by_folder.values():
            siblings.sort(key=lambda s: s.name)

    def in_folder(self, folder_id: uuid.UUID | str | None) -> list[Script]:
        return self._by_folder.get(_key(folder_id), [])
