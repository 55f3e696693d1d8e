"""What admins do to accounts: list them, make them, deactivate and
reactivate them, promote and demote them.

There is always an active admin: none may demote or deactivate themselves,
and a change that would leave no active admin is refused. The check locks
the admin rows (on PostgreSQL), so two admins demoting each other at once
cannot both succeed."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from core.errors import BadUserInput, NotFound
from core.ids import parse_id
from models.users import User
from services.access import Caller, require_admin
from services.access_watch import access_given, access_taken_away
from services.accounts import create_user, end_sessions

MAX_PAGE = 200
LAST_ADMIN = "That would leave no active admin."


async def list_users(
    caller: Caller, search: str | None, first: int | None, after: str | None
) -> list[User]:
    """Users whose username contains `search`, by username; `after` is the
    username (or id) of the last one of the previous page."""
    require_admin(caller, "list users")
    limit = MAX_PAGE if first is None else first
    if not 1 <= limit <= MAX_PAGE:
        raise BadUserInput(f"first is 1 to {MAX_PAGE}.")
    query = User.all()
    if search:
        query = query.filter(username__icontains=search.strip())
    if after:
        query = query.filter(username__gt=await _cursor_username(after))
    return await query.order_by("username").limit(limit)


async def _cursor_username(after: str) -> str:
    """A cursor is a username; a user id is read as that user's username."""
    try:
        user_id = parse_id(after, "User")
    except NotFound:
        return after.lower()
    row = await User.get_or_none(id=user_id)
    return row.username if row is not None else after.lower()


async def _target(caller: Caller, user_id: str, doing: str) -> User:
    require_admin(caller, doing)
    row = await User.get_or_none(id=parse_id(user_id, "User"))
    if row is None:
        raise NotFound("User not found.")
    if row.id == caller.id:
        raise BadUserInput(f"You may not {doing} on your own account.")
    return row


async def refuse_last_admin(target_id: object) -> None:
    """Inside a transaction: BAD_USER_INPUT when no active admin but the
    target would be left (the rows stay locked until the change commits)."""
    admins = await User.filter(is_admin=True, is_active=True).select_for_update()
    if not any(row.id != target_id for row in admins):
        raise BadUserInput(LAST_ADMIN)


async def set_active(caller: Caller, user_id: str, active: bool) -> User:
    """Deactivating ends the user's sessions, and stops their API tokens,
    sockets and schedules until they are reactivated; a reactivated user
    logs in again, and their tokens and schedules resume."""
    row = await _target(caller, user_id, "change the active state")
    async with in_transaction():
        if not active and row.is_admin:
            await refuse_last_admin(row.id)
        changes: dict[str, object] = {"is_active": active}
        if not active:
            changes["sessions_valid_after"] = datetime.now(UTC)
        await User.filter(id=row.id).update(**changes)
    if not active:
        await end_sessions(row.id)
    return await User.get(id=row.id)


async def set_admin(caller: Caller, user_id: str, admin: bool) -> User:
    row = await _target(caller, user_id, "change the admin role")
    async with in_transaction():
        if not admin and row.is_admin and row.is_active:
            await refuse_last_admin(row.id)
        await User.filter(id=row.id).update(is_admin=admin)
    if admin:
        await access_given()
    else:
        await access_taken_away()
    return await User.get(id=row.id)


async def create_user_as_admin(
    caller: Caller, username: str, password: str, admin: bool = False
) -> User:
    require_admin(caller, "create users")
    return await create_user(username, password, is_admin=admin)
