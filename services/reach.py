"""What a caller reaches beyond their own rows: the folders shared with them
or their groups, each with the strongest role any grant above it gives, and
for a token held to a folder, that folder's subtree.

Read afresh for every request (and every socket re-check), so a removed
grant or membership takes effect on the next one: one small query when
nothing is shared, plus one per level of the shared subtrees."""

from __future__ import annotations

from tortoise.expressions import Q

from core.roles import Role
from models.teams import FolderGrant
from models.tree import Folder
from models.users import User
from services.access import Caller, TokenHold


async def shared_roles(user: User) -> dict[str, Role]:
    """Folder id -> role, for every folder of every subtree shared with the
    user or one of their groups (strongest grant wins). One query when
    nothing is shared."""
    mine = Q(Q(user_id=user.id), Q(group__members__user_id=user.id), join_type=Q.OR)
    granted: dict[str, Role] = {}
    for folder_id, role in await FolderGrant.filter(mine).values_list("folder_id", "role"):
        key = str(folder_id)
        role = Role(role)
        if key not in granted or role.allows(granted[key]):
            granted[key] = role
    return await _spread(granted)


async def _spread(granted: dict[str, Role]) -> dict[str, Role]:
    """Each granted role carried down its folder's subtree, the strongest
    winning where grants nest."""
    roles = dict(granted)
    frontier = list(granted)
    while frontier:
        children = await Folder.filter(parent_id__in=frontier).values_list("id", "parent_id")
        frontier = []
        for child_id, parent_id in children:
            child, inherited = str(child_id), roles[str(parent_id)]
            current = roles.get(child)
            if current is None or (inherited.rank > current.rank):
                roles[child] = inherited
                frontier.append(child)
    return roles


async def subtree_ids(folder_id: str) -> list[str]:
    ids, frontier = [folder_id], [folder_id]
    while frontier:
        frontier = [
            str(child)
            for child in await Folder.filter(parent_id__in=frontier).values_list("id", flat=True)
        ]
        ids.extend(frontier)
    return ids


async def caller_for(user: User, token: TokenHold | None = None) -> Caller:
    """The caller a request speaks for: the user, through `token` if any."""
    shared = await shared_roles(user)
    if token is None or token.folder_id is None:
        return Caller(user=user, token=token, shared=shared)
    folder = await Folder.get_or_none(id=token.folder_id)
    if folder is None:
        return Caller(user=user, token=token, shared={}, own_tree=False)
    subtree = await subtree_ids(token.folder_id)
    if str(folder.owner_id) == str(user.id):
        held = dict.fromkeys(subtree, Role.EDITOR)
    else:
        held = {folder_id: shared[folder_id] for folder_id in subtree if folder_id in shared}
    return Caller(user=user, token=token, shared=held, own_tree=False)
