"""Groups of people: admins make them, add and remove members, and set the
secrets their members' runs receive. A member sees the groups they belong
to and the names of their secrets, never the values."""

from __future__ import annotations

import contextlib
import uuid

from tortoise.exceptions import IntegrityError

from core.errors import AlreadyExists, BadUserInput, NotFound
from core.ids import parse_id
from models.teams import Group, GroupMember, GroupSecret
from models.users import User
from services.access import Caller, require_admin
from services.access_watch import access_given, access_taken_away
from services.secrets import SecretStore, check_secret_name

MAX_GROUP_NAME = 64


def _group_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_GROUP_NAME:
        raise BadUserInput(f"A group name has 1 to {MAX_GROUP_NAME} characters.")
    return name


async def get_group(caller: Caller, group_id: str | uuid.UUID) -> Group:
    """A group the caller sees (a member, or an admin); else NOT_FOUND."""
    query = Group.filter(id=parse_id(group_id, "Group"))
    if not caller.is_admin:
        query = query.filter(members__user_id=caller.id)
    group = await query.first()
    if group is None:
        raise NotFound("Group not found.")
    return group


async def list_groups(caller: Caller) -> list[Group]:
    """Every group for an admin; the caller's own groups for anyone else."""
    query = Group.all()
    if not caller.is_admin:
        query = query.filter(members__user_id=caller.id)
    return await query.distinct().order_by("name")


async def members_of(group_ids: list[str]) -> dict[str, list[User]]:
    """Group id -> its members, by username, in one query."""
    rows = (
        await GroupMember.filter(group_id__in=group_ids)
        .prefetch_related("user")
        .order_by("user__username")
    )
    by_group: dict[str, list[User]] = {group_id: [] for group_id in group_ids}
    for row in rows:
        by_group.setdefault(str(row.group_id), []).append(row.user)
    return by_group


async def secret_names_of(group_ids: list[str]) -> dict[str, list[str]]:
    """Group id -> the names of its secrets, in one query."""
    rows = await GroupSecret.filter(group_id__in=group_ids).order_by("name")
    by_group: dict[str, list[str]] = {group_id: [] for group_id in group_ids}
    for row in rows:
        by_group.setdefault(str(row.group_id), []).append(row.name)
    return by_group


async def create_group(caller: Caller, name: str) -> Group:
    require_admin(caller, "create groups")
    name = _group_name(name)
    try:
        return await Group.create(name=name)
    except IntegrityError:
        raise AlreadyExists(f"A group named '{name}' exists.") from None


async def delete_group(caller: Caller, group_id: str) -> bool:
    require_admin(caller, "delete groups")
    group = await get_group(caller, group_id)
    await group.delete()
    # Its members lose every folder shared with the group.
    await access_taken_away()
    return True


async def _user(user_id: str) -> User:
    user = await User.get_or_none(id=parse_id(user_id, "User"))
    if user is None:
        raise NotFound("User not found.")
    return user


async def add_member(caller: Caller, group_id: str, user_id: str) -> Group:
    require_admin(caller, "add group members")
    group = await get_group(caller, group_id)
    user = await _user(user_id)
    # Added at the same moment by another request: the same outcome.
    with contextlib.suppress(IntegrityError):
        await GroupMember.get_or_create(group_id=group.id, user_id=user.id)
    # They now reach what is shared with the group.
    await access_given()
    return group


async def remove_member(caller: Caller, group_id: str, user_id: str) -> Group:
    require_admin(caller, "remove group members")
    group = await get_group(caller, group_id)
    removed = await GroupMember.filter(
        group_id=group.id, user_id=parse_id(user_id, "User")
    ).delete()
    if removed:
        await access_taken_away()
    return group


async def set_group_secret(
    caller: Caller, secrets: SecretStore, group_id: str, name: str, value: str
) -> Group:
    require_admin(caller, "set group secrets")
    group = await get_group(caller, group_id)
    ciphertext = secrets.seal(check_secret_name(name), value)
    updated = await GroupSecret.filter(group_id=group.id, name=name).update(ciphertext=ciphertext)
    if not updated:
        try:
            await GroupSecret.create(group_id=group.id, name=name, ciphertext=ciphertext)
        except IntegrityError:
            # Set at the same moment by another request: the last write wins.
            await GroupSecret.filter(group_id=group.id, name=name).update(ciphertext=ciphertext)
    return group


async def delete_group_secret(caller: Caller, group_id: str, name: str) -> bool:
    require_admin(caller, "delete group secrets")
    group = await get_group(caller, group_id)
    return bool(await GroupSecret.filter(group_id=group.id, name=name).delete())
