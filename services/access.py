"""Who may see and change which rows: the one home of visibility and ownership.

A user sees and changes the rows they own; an admin sees and changes every
user's. A row the caller may not see behaves exactly as if it did not exist
(NOT_FOUND, never "forbidden"), so an id of another user's row tells its
holder nothing. Rows made inside a folder belong to the folder's owner, so an
admin working in someone's tree never scatters rows of their own through it.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from core.errors import NotFound
from core.ids import parse_id
from models.tree import Folder, Script
from models.users import User

RowT = TypeVar("RowT", bound=Model)


def visible_to(user: User) -> dict[str, Any]:
    """Filter arguments for the rows the user may see: their own, or all for an admin."""
    return {} if user.is_admin else {"owner_id": user.id}


def visible(query: QuerySet[RowT], user: User) -> QuerySet[RowT]:
    """`query` narrowed to the rows the user may see."""
    return query.filter(**visible_to(user))


async def get_visible(model: type[RowT], user: User, row_id: str | uuid.UUID, what: str) -> RowT:
    """The row of `model` with this id if the user may see it; else NOT_FOUND,
    exactly as for an id that names nothing. Every object type a client names
    by id comes through here."""
    row = await model.get_or_none(id=parse_id(row_id, what), **visible_to(user))
    if row is None:
        raise NotFound(f"{what} not found.")
    return row


async def get_folder(user: User, folder_id: str | uuid.UUID) -> Folder:
    return await get_visible(Folder, user, folder_id, "Folder")


async def get_script(user: User, script_id: str | uuid.UUID) -> Script:
    return await get_visible(Script, user, script_id, "Script")


def owner_of_new_row(user: User, folder: Folder | None) -> uuid.UUID | str:
    """Who owns a folder or script made in `folder` (None: the caller's root)."""
    return folder.owner_id if folder is not None else user.id


def check_same_tree(target: Folder | None, row: Folder | Script) -> None:
    """A row moves only within its owner's tree; another tree's folder is not there."""
    if target is not None and target.owner_id != row.owner_id:
        raise NotFound("Folder not found.")


def tree_owner_id(user: User, owner_id: str | None) -> str:
    """Whose tree the caller asked for: their own, or (admins only) anyone's."""
    if owner_id is None or owner_id == str(user.id):
        return str(user.id)
    if not user.is_admin:
        raise NotFound("User not found.")
    return str(parse_id(owner_id, "User"))
