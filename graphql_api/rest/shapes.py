"""Folders and scripts in the Scripts Manager's JSON shapes (its
API_DOCUMENTATION: FolderResponse, ScriptResponse, FolderTreeItem).

Where Scriptbox differs, the shape stays and the values say so: ids are
UUID strings (the seed's are integers; its front end only passes them back),
a script's `display_name` is its name (Scriptbox keeps no second name), and
a path in another user's tree reads `~owner/...`, as the run path takes it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import Forbidden
from models.tree import Folder, Script
from models.users import User
from services.access import Caller, require_edit_folder, require_edit_script
from services.tree import USER_PATH_MARK, folder_index
from services.tree_index import FolderIndex


@dataclass(frozen=True)
class TreeView:
    """What shaping rows of one owner's tree needs: who looks, the tree's
    folders (for paths) and the owner's username."""

    caller: Caller
    folders: FolderIndex
    owner_id: str
    owner_login: str

    def shown_path(self, folder_id: uuid.UUID | str | None, name: str | None = None) -> str:
        parts = [p for p in (self.folders.path(folder_id), name) if p]
        path = "/".join(parts)
        if self.owner_id == str(self.caller.id):
            return path
        return f"{USER_PATH_MARK}{self.owner_login}/{path}"

    @property
    def created_by(self) -> dict[str, str]:
        return {"id": self.owner_id, "login": self.owner_login}


async def tree_view(caller: Caller, owner_id: uuid.UUID | str) -> TreeView:
    owner = await User.get(id=owner_id)
    return TreeView(caller, await folder_index(owner_id), str(owner_id), owner.username)


def _allowed(check: Callable[[], None]) -> bool:
    """Whether an access rule lets the caller through (the rule itself, asked)."""
    try:
        check()
    except Forbidden:
        return False
    return True


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def folder_json(view: TreeView, folder: Folder) -> dict[str, Any]:
    may_edit = _allowed(lambda: require_edit_folder(view.caller, folder, "edit"))
    return {
        "id": str(folder.id),
        "name": folder.name,
        "path": view.shown_path(folder.id),
        "parent_id": None if folder.parent_id is None else str(folder.parent_id),
        "created_by": view.created_by,
        "created_at": _stamp(folder.created_at),
        "updated_at": _stamp(folder.updated_at),
        "can_edit": may_edit,
        "can_delete": may_edit,
    }


def script_json(view: TreeView, script: Script) -> dict[str, Any]:
    may_edit = _allowed(lambda: require_edit_script(view.caller, script, "edit"))
    return {
        "id": str(script.id),
        "filename": script.name,
        "logical_path": view.shown_path(script.folder_id, script.name),
        "display_name": script.name,
        "description": script.description,
        "folder_id": None if script.folder_id is None else str(script.folder_id),
        "language": script.language.value,
        "version": script.version,
        "created_by": view.created_by,
        "created_at": _stamp(script.created_at),
        "updated_at": _stamp(script.updated_at),
        "can_edit": may_edit,
        "can_delete": may_edit,
    }
