"""Who may see and change which rows: the one home of visibility and roles.

A caller is a person, either signed in (a JWT session: every scope) or
speaking through one of their API tokens (its scopes, and perhaps one folder's
subtree). What they reach:

- their own rows: a person sees and changes everything they own;
- folders shared with them or their groups: a grant on a folder covers its
  subtree in one role (VIEWER < RUNNER < EDITOR); nested grants: the
  strongest wins. A viewer sees folders, scripts and versions; a runner also
  runs and schedules the scripts and sees their own runs; an editor also
  creates, changes, moves and deletes inside the folder, and sees every run
  of its scripts. The granted folder itself stays its owner's to rename, move,
  delete and share;
- an admin sees and changes every user's rows, except files and secrets,
  which are a person's own (admins included).

A row the caller may not see behaves exactly as if it did not exist
(NOT_FOUND), so an id tells its holder nothing; a row they see but their role
or token does not let them change is FORBIDDEN. Rows made inside a folder
belong to the folder's owner; runs, batches and schedules belong to whoever
started them.

Every lookup by id, key or path ends in `get_visible_where`, every list is
narrowed by `visible`, and every change asks `require_role`: `visible_filter`
and `role_in` are the only places that say who reaches what.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from core.errors import Forbidden, NotFound
from core.ids import parse_id
from core.roles import Role, TokenScope, granted_scopes
from models.batches import Batch
from models.executions import Execution
from models.files import Artifact, StoredFile
from models.schedules import Schedule
from models.secrets import Secret
from models.services import Service
from models.tree import Folder, Script
from models.users import User

RowT = TypeVar("RowT", bound=Model)

# Private to their owner: not even an admin sees another user's.
OWNER_ONLY: tuple[type[Model], ...] = (StoredFile, Secret)
# Rows that record something started on a script: seen by who started them,
# by the script's owner, and by editors of the script's folder.
RUN_RECORDS: tuple[type[Model], ...] = (Execution, Batch, Schedule, Service)


@dataclass(frozen=True)
class TokenHold:
    """The API token a request speaks through."""

    id: str
    prefix: str
    scopes: frozenset[TokenScope]
    folder_id: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class Caller:
    """Who a request speaks for and what they reach.

    `shared`: folder id -> the caller's role there, for every folder reached
    through a grant (or, for a token held to a folder, every folder of that
    subtree). `own_tree`: whether they reach all their own rows (False for a
    token held to a folder)."""

    user: User
    token: TokenHold | None = None
    shared: Mapping[str, Role] = field(default_factory=dict)
    own_tree: bool = True

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def scopes(self) -> frozenset[TokenScope]:
        if self.token is None:
            return frozenset(TokenScope)
        return granted_scopes(self.token.scopes)

    @property
    def is_admin(self) -> bool:
        """An admin's powers: an admin signed in, or through an unrestricted
        token with the ADMIN scope."""
        return bool(self.user.is_admin) and self.own_tree and TokenScope.ADMIN in self.scopes

    def ids_with(self, needed: Role) -> list[str]:
        return [folder_id for folder_id, role in self.shared.items() if role.allows(needed)]


def reaches_less(before: Caller, after: Caller) -> bool:
    """Whether `after` lost something `before` reached: admin powers, or a
    shared folder, or a role in one."""
    if before.is_admin and not after.is_admin:
        return True
    return any(
        folder_id not in after.shared or not after.shared[folder_id].allows(role)
        for folder_id, role in before.shared.items()
    )


def visibility_class(caller: Caller) -> Hashable:
    """What decides everything `caller` may see, as one hashable value: two
    callers with equal classes see the same rows, so a result computed for
    one may be shown to the other (shared subscriptions). Anything added to
    `Caller` that changes what is visible belongs in here too."""
    token = caller.token
    return (
        str(caller.id),
        caller.is_admin,
        token is None,
        caller.scopes,
        token.folder_id if token is not None else None,
        caller.own_tree,
        frozenset(caller.shared.items()),
    )


def _is(field_name: str, value: object) -> Q:
    condition: dict[str, Any] = {field_name: value}
    return Q(**condition)


def _own(caller: Caller, field_name: str) -> Q | None:
    return _is(field_name, caller.id) if caller.own_tree else None


def _any(*parts: Q | None) -> Q:
    present = [part for part in parts if part is not None]
    if not present:
        # Matches no row: an id is never NULL.
        return Q(id__isnull=True)
    return Q(*present, join_type=Q.OR)


def _in(field_name: str, ids: list[str]) -> Q | None:
    return _is(f"{field_name}__in", ids) if ids else None


def visible_filter(caller: Caller, model: type[Model], prefix: str = "") -> Q | None:
    """The rows of `model` the caller may see, as a filter (None: all of them)."""
    if model is Artifact:
        return visible_filter(caller, Execution, prefix + "execution__")
    if caller.is_admin and model not in OWNER_ONLY:
        return None
    if model in OWNER_ONLY:
        return _any(_own(caller, prefix + "owner_id"))
    if model is Folder:
        return _any(_own(caller, prefix + "owner_id"), _in(prefix + "id", list(caller.shared)))
    if model is Script:
        return _any(
            _own(caller, prefix + "owner_id"), _in(prefix + "folder_id", list(caller.shared))
        )
    if model in RUN_RECORDS:
        script_folder = prefix + "script__folder_id"
        started = _is(prefix + "owner_id", caller.id)
        of_own_script: Q | None = _is(prefix + "script__owner_id", caller.id)
        if not caller.own_tree:
            # A token held to a folder: its owner's runs of scripts there.
            started = Q(started, _any(_in(script_folder, list(caller.shared))))
            of_own_script = None
        return _any(started, of_own_script, _in(script_folder, caller.ids_with(Role.EDITOR)))
    raise TypeError(f"No visibility rule for {model.__name__}")


def sees_in_tree(
    caller: Caller, owner_id: str | uuid.UUID, folder_id: str | uuid.UUID | None
) -> bool:
    """`visible_filter` for a folder (its id) or a script (its folder's id)
    already loaded with its owner's tree: the same rule, asked of one row."""
    if caller.is_admin or (caller.own_tree and str(owner_id) == str(caller.id)):
        return True
    return folder_id is not None and str(folder_id) in caller.shared


def sees_run_started_by(caller: Caller, owner_id: str | uuid.UUID) -> bool:
    """Whether `visible_filter` surely shows the caller a run record that
    `owner_id` started, without reading anything: an admin's, or their own
    with their whole tree. False says nothing: ask `visible_filter`."""
    return caller.is_admin or (caller.own_tree and str(owner_id) == str(caller.id))


def visible(query: QuerySet[RowT], caller: Caller) -> QuerySet[RowT]:
    """`query` narrowed to the rows the caller may see."""
    condition = visible_filter(caller, query.model)
    return query if condition is None else query.filter(condition)


async def get_visible_where(
    model: type[RowT], caller: Caller, not_found: str, **lookup: Any
) -> RowT:
    """The row of `model` that `lookup` names if the caller may see it; else
    NOT_FOUND with `not_found`, exactly as when it names nothing."""
    row = await visible(model.filter(**lookup), caller).first()
    if row is None:
        raise NotFound(not_found)
    return row


async def get_visible(
    model: type[RowT], caller: Caller, row_id: str | uuid.UUID, what: str
) -> RowT:
    """The row of `model` with this id if the caller may see it; else
    NOT_FOUND, exactly as for an id that names nothing. Every object type a
    client names by id comes through here."""
    return await get_visible_where(model, caller, f"{what} not found.", id=parse_id(row_id, what))


async def get_folder(caller: Caller, folder_id: str | uuid.UUID) -> Folder:
    return await get_visible(Folder, caller, folder_id, "Folder")


async def get_script(caller: Caller, script_id: str | uuid.UUID) -> Script:
    return await get_visible(Script, caller, script_id, "Script")


async def get_service(caller: Caller, service_id: str | uuid.UUID) -> Service:
    """A service: seen, and so stopped and restarted, by whoever started it,
    the script's owner and editors of its folder (a run record's rule)."""
    return await get_visible(Service, caller, service_id, "Service")


async def get_file(caller: Caller, key: str) -> StoredFile:
    return await get_visible_where(StoredFile, caller, f"No file with key '{key}'.", key=key)


async def get_artifact(caller: Caller, execution_id: str, name: str) -> Artifact:
    """An execution's artifact by name, seen by whoever sees the execution."""
    return await get_visible_where(
        Artifact,
        caller,
        "Artifact not found.",
        execution_id=parse_id(execution_id, "Artifact"),
        name=name,
    )


# ---- roles ---------------------------------------------------------------------


def role_in(
    caller: Caller, folder_id: str | uuid.UUID | None, owner_id: str | uuid.UUID
) -> Role | None:
    """The caller's role inside a folder of `owner_id`'s tree (None: that
    tree's top level). Owners and admins are editors everywhere they reach."""
    if caller.is_admin:
        return Role.EDITOR
    if folder_id is None:
        return Role.EDITOR if caller.own_tree and str(owner_id) == str(caller.id) else None
    if caller.own_tree and str(owner_id) == str(caller.id):
        return Role.EDITOR
    return caller.shared.get(str(folder_id))


def require_role(
    caller: Caller,
    folder_id: str | uuid.UUID | None,
    owner_id: str | uuid.UUID,
    needed: Role,
    doing: str,
) -> None:
    """FORBIDDEN unless the caller's role inside the folder is at least `needed`."""
    role = role_in(caller, folder_id, owner_id)
    if role is None or not role.allows(needed):
        raise Forbidden(f"You may not {doing} here: it needs the {needed.name} role.")


def require_edit_folder(caller: Caller, folder: Folder, doing: str) -> None:
    """A folder itself is changed by whoever edits its parent: a shared
    folder's root stays its owner's."""
    require_role(caller, folder.parent_id, folder.owner_id, Role.EDITOR, doing)


def require_edit_script(caller: Caller, script: Script, doing: str) -> None:
    require_role(caller, script.folder_id, script.owner_id, Role.EDITOR, doing)


def require_run_script(caller: Caller, script: Script) -> None:
    require_role(caller, script.folder_id, script.owner_id, Role.RUNNER, "run this script")


def require_owner(caller: Caller, owner_id: str | uuid.UUID, doing: str) -> None:
    """Only the row's owner (or an admin) may do this."""
    if not caller.is_admin and not (caller.own_tree and str(owner_id) == str(caller.id)):
        raise Forbidden(f"Only the owner or an admin may {doing}.")


def require_admin(caller: Caller, doing: str) -> None:
    """FORBIDDEN unless the caller has an admin's powers (an admin signed in,
    or through an unrestricted token with the ADMIN scope)."""
    if not caller.is_admin:
        raise Forbidden(f"Only an admin may {doing}.")


def my_role(caller: Caller, folder: Folder) -> Role | None:
    """The caller's role in a folder they see (EDITOR for the owner and admins)."""
    return role_in(caller, folder.id, folder.owner_id)


def owner_of_new_row(caller: Caller, folder: Folder | None) -> uuid.UUID | str:
    """Who owns a folder or script made in `folder` (None: the caller's root)."""
    return folder.owner_id if folder is not None else caller.id


def check_same_tree(target: Folder | None, row: Folder | Script) -> None:
    """A row moves only within its owner's tree; another tree's folder is not there."""
    if target is not None and target.owner_id != row.owner_id:
        raise NotFound("Folder not found.")


def tree_owner_id(caller: Caller, owner_id: str | None) -> str:
    """Whose tree the caller asked for: their own, or (admins only) anyone's."""
    if owner_id is None or owner_id == str(caller.id):
        return str(caller.id)
    if not caller.is_admin:
        raise NotFound("User not found.")
    return str(parse_id(owner_id, "User"))


def require_scope(caller: Caller, scope: TokenScope, doing: str) -> None:
    if scope not in caller.scopes:
        raise Forbidden(f"This API token may not {doing}: it needs the {scope.name} scope.")
