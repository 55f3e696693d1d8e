"""People named by other rows (a folder's owner, who granted a share), read
in one query however many rows name them."""

from __future__ import annotations

from models.teams import Group
from models.users import User


async def users_by_id(user_ids: list[str]) -> dict[str, User]:
    return {str(row.id): row for row in await User.filter(id__in=user_ids)}


async def groups_by_id(group_ids: list[str]) -> dict[str, Group]:
    return {str(row.id): row for row in await Group.filter(id__in=group_ids)}
