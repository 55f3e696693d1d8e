"""Paths in the tree as the client writes them: 'a/b', '' for the top."""

from __future__ import annotations

from pathlib import PurePosixPath


def tree_path(path: str | None) -> str:
    """'/a/b/' and 'a/b' name the same folder; '', '.' and '/' the top."""
    cleaned = (path or "").strip().strip("/")
    return "" if cleaned == "." else cleaned


def joined(root: str, path: str) -> str:
    return f"{root}/{path}" if root else path


def parent_of(path: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else parent


def name_of(path: str) -> str:
    return PurePosixPath(path).name
