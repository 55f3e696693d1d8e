"""A local folder as `push` and `pull` see it: every file by its path
relative to the folder, with its content hash, and the language its
extension names (None: not a script; `push` skips it). Hidden files and
folders (a leading dot: .git, the sync state) are not part of the tree."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

LANGUAGES = {".py": "PYTHON", ".sh": "SHELL", ".js": "JAVASCRIPT"}


def language_of(name: str) -> str | None:
    return LANGUAGES.get(PurePosixPath(name).suffix.lower())


def content_hash(data: bytes) -> str:
    """The service hashes a script's UTF-8 text the same way (ScriptVersion.sha256)."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class LocalFile:
    path: str
    file: Path
    sha256: str
    language: str | None


@dataclass
class LocalTree:
    folders: set[str] = field(default_factory=set)
    files: dict[str, LocalFile] = field(default_factory=dict)

    @property
    def scripts(self) -> dict[str, LocalFile]:
        return {p: f for p, f in self.files.items() if f.language is not None}

    @property
    def others(self) -> list[str]:
        return sorted(p for p, f in self.files.items() if f.language is None)


def read_local(root: Path) -> LocalTree:
    tree = LocalTree()
    if not root.is_dir():
        return tree
    for directory, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        here = Path(directory)
        relative = here.relative_to(root).as_posix()
        if relative != ".":
            tree.folders.add(relative)
        for name in sorted(files):
            file = here / name
            if name.startswith(".") or not file.is_file():
                continue
            path = file.relative_to(root).as_posix()
            tree.files[path] = LocalFile(
                path, file, content_hash(file.read_bytes()), language_of(name)
            )
    return tree
