"""Folders shared with people and groups: owners (and admins) grant a role
on a folder's subtree, change it by granting again, and take it back; each
person sees the roots of what is shared with them."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from core.errors import BadUserInput, NotFound
from core.ids import parse_id
from core.roles import Role
from models.teams import FolderGrant, Group
from models.tree import Folder
from models.users import User
from services.access import Caller, get_folder, get_visible_where, require_owner
from services.access_watch import access_given, access_taken_away
from services.login_throttle import username_key


async def _grantee(
    user_id: str | None, username: str | None, group_id: str | None
) -> tuple[User | None, Group | None]:
    if sum(given is not None for given in (user_id, username, group_id)) != 1:
        raise BadUserInput("Give exactly one of `userId`, `username` and `groupId`.")
    if user_id is not None or username is not None:
        # People know their colleagues by name; the users list is for admins.
        user = await (
            User.get_or_none(id=parse_id(user_id, "User"))
            if user_id is not None
            else User.get_or_none(username=username_key(username or ""))
        )
        if user is None:
            raise NotFound("User not found.")
        return user, None
    group = await Group.get_or_none(id=parse_id(group_id, "Group"))
    if group is None:
        raise NotFound("Group not found.")
    return None, group


async def share_folder(
    caller: Caller,
    folder_id: str,
    role: Role,
    *,
    user_id: str | None = None,
    username: str | None = None,
    group_id: str | None = None,
) -> FolderGrant:
    """Grant `role` on the folder's subtree; granting again to the same
    user or group changes the role."""
    folder = await get_folder(caller, folder_id)
    require_owner(caller, folder.owner_id, "share this folder")
    user, group = await _grantee(user_id, username, group_id)
    if user is not None and str(user.id) == str(folder.owner_id):
        raise BadUserInput("The folder is already its owner's.")
    grantee = {"user_id": user.id} if user is not None else {"group_id": group.id}  # type: ignore[union-attr]
    existing = await FolderGrant.get_or_none(folder_id=folder.id, **grantee)
    if existing is None:
        try:
            grant = await FolderGrant.create(
                folder_id=folder.id, role=role, granted_by_id=caller.id, **grantee
            )
            await access_given()
            return grant
        except IntegrityError:
            # Granted at the same moment by another request: change that one.
            existing = await FolderGrant.get(folder_id=folder.id, **grantee)
    weaker = not role.allows(Role(existing.role))
    existing.role = role
    existing.granted_by_id = str(caller.id)
    await existing.save(update_fields=["role", "granted_by_id"])
    if weaker:
        await access_taken_away()
    else:
        await access_given()
    return existing


async def unshare_folder(caller: Caller, grant_id: str) -> bool:
    grant = await FolderGrant.get_or_none(id=parse_id(grant_id, "Grant"))
    if grant is None:
        raise NotFound("Grant not found.")
    # A grant on a folder the caller does not see names nothing to them.
    folder = await get_visible_where(Folder, caller, "Grant not found.", id=grant.folder_id)
    require_owner(caller, folder.owner_id, "unshare this folder")
    await grant.delete()
    await access_taken_away()
    return True


def lists_grants(caller: Caller, folder: Folder) -> bool:
    """Whether the caller may see who a folder is shared with: its owner and admins."""
    return caller.is_admin or (caller.own_tree and str(folder.owner_id) == str(caller.id))


async def grants_on(folder_ids: list[str]) -> dict[str, list[FolderGrant]]:
    """Folder id -> its grants, oldest first, in one query."""
    rows = await FolderGrant.filter(folder_id__in=folder_ids).order_by("created_at")
    by_folder: dict[str, list[FolderGrant]] = {folder_id: [] for folder_id in folder_ids}
    for row in rows:
        by_folder.setdefault(str(row.folder_id), []).append(row)
    return by_folder


async def shared_with_me(caller: Caller) -> list[Folder]:
    """The roots of what is shared with the caller: folders granted to them
    or their groups (or the folder their token is held to), not their own,
    and not inside another one listed."""
    mine = Q(Q(user_id=caller.id), Q(group__members__user_id=caller.id), join_type=Q.OR)
    granted = {
        str(fid) for fid in await FolderGrant.filter(mine).values_list("folder_id", flat=True)
    }
    if caller.token is not None and caller.token.folder_id is not None:
        granted.add(str(caller.token.folder_id))
    candidates = [folder_id for folder_id in granted if folder_id in caller.shared]
    if not candidates:
        return []
    folders = await Folder.filter(id__in=candidates).exclude(owner_id=caller.id)
    roots = [f for f in folders if f.parent_id is None or str(f.parent_id) not in caller.shared]
    return sorted(roots, key=lambda f: (f.name, str(f.id)))


async def folders_by_id(folder_ids: list[str]) -> dict[str, Folder]:
    """Folders a grant names (shown only to those who see the grant), by id."""
    return {str(row.id): row for row in await Folder.filter(id__in=folder_ids)}
