"""Who may see and change which rows: the one home of visibility and ownership.

A user sees and changes the rows they own; an admin sees and changes every
user's. Files and secrets are private to their owner, admins included: they
are a person's data, not part of a tree an admin looks after. An artifact is
seen by whoever sees its execution. A row the caller may not see behaves
exactly as if it did not exist (NOT_FOUND, never "forbidden"), so an id of
another user's row tells its holder nothing. Rows made inside a folder belong
to the folder's owner, so an admin working in someone's tree never scatters
rows of their own through it.

Every lookup a client makes by id, key or path ends in `get_visible_where`,
and every list it reads is narrowed by `visible`: `visible_to` is the only
place that says who sees what.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from core.errors import NotFound
from core.ids import parse_id
from models.files import Artifact, StoredFile
from models.secrets import Secret
from models.tree import Folder, Script
from models.users import User

RowT = TypeVar("RowT", bound=Model)

# Private to their owner: not even an admin sees another user's.
OWNER_ONLY: tuple[type[Model], ...] = (StoredFile, Secret)
# Rows owned through another row: the filter that names their owner.
OWNER_FIELD: dict[type[Model], str] = {Artifact: "execution__owner_id"}


def visible_to(user: User, model: type[Model]) -> dict[str, Any]:
    """Filter arguments for the rows of `model` the user may see."""
    owner_field = OWNER_FIELD.get(model, "owner_id")
    if user.is_admin and model not in OWNER_ONLY:
        return {}
    return {owner_field: user.id}


def visible(query: QuerySet[RowT], user: User) -> QuerySet[RowT]:
    """`query` narrowed to the rows the user may see."""
    return query.filter(**visible_to(user, query.model))


async def get_visible_where(model: type[RowT], user: User, not_found: str, **lookup: Any) -> RowT:
    """The row of `model` that `lookup` names if the user may see it; else
    NOT_FOUND with `not_found`, exactly as when it names nothing."""
    row = await visible(model.filter(**lookup), user).get_or_none()
    if row is None:
        raise NotFound(not_found)
    return row


async def get_visible(model: type[RowT], user: User, row_id: str | uuid.UUID, what: str) -> RowT:
    """The row of `model` with this id if the user may see it; else NOT_FOUND,
    exactly as for an id that names nothing. Every object type a client names
    by id comes through here."""
    return await get_visible_where(model, user, f"{what} not found.", id=parse_id(row_id, what))


async def get_folder(user: User, folder_id: str | uuid.UUID) -> Folder:
    return await get_visible(Folder, user, folder_id, "Folder")


async def get_script(user: User, script_id: str | uuid.UUID) -> Script:
    return await get_visible(Script, user, script_id, "Script")


async def get_file(user: User, key: str) -> StoredFile:
    return await get_visible_where(StoredFile, user, f"No file with key '{key}'.", key=key)


async def get_artifact(user: User, execution_id: str, name: str) -> Artifact:
    """An execution's artifact by name, seen by whoever sees the execution."""
    return await get_visible_where(
        Artifact,
        user,
        "Artifact not found.",
        execution_id=parse_id(execution_id, "Artifact"),
        name=name,
    )


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
