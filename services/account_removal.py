"""Deleting an account, and everything it owns in object storage.

The database deletes the account's rows by cascade: its folders, scripts
and their versions, the executions it started or that ran its scripts, its
files, schedules, services, tokens. Its objects go first: the artifacts and
stored outputs of those executions, its files and its scripts' contents;
the row after. A process that dies midway leaves an account whose objects
are gone, and deleting it again finishes; a run that ends after the rows
went can still store something, which the orphan sweep
(services/orphan_sweep.py) finds. Only an operator deletes an account
(`scriptbox delete-user`): the API has no way to, so no token can."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from core.errors import NotFound
from models.files import StoredFile
from models.tree import Script
from models.users import User
from services.access_watch import access_taken_away
from services.account_admin import refuse_last_admin
from services.execution_objects import delete_objects_of_owner
from services.files import files_prefix
from services.login_throttle import username_key
from services.tree import script_prefix
from storage import ObjectStore


async def delete_account(store: ObjectStore, username: str) -> User:
    """Delete the account and all it owns; NOT_FOUND when there is none,
    BAD_USER_INPUT when it is the last active admin."""
    user = await User.get_or_none(username=username_key(username))
    if user is None:
        raise NotFound(f"No user '{username}'.")
    if user.is_admin and user.is_active:
        async with in_transaction():
            await refuse_last_admin(user.id)
    await delete_objects_of_owner(store, user.id)
    for key in await StoredFile.filter(owner_id=user.id).values_list("storage_key", flat=True):
        await store.delete(str(key))
    await store.delete_prefix(files_prefix(user.id))
    for script_id in await Script.filter(owner_id=user.id).values_list("id", flat=True):
        await store.delete_prefix(script_prefix(str(script_id)))
    async with in_transaction():
        if user.is_admin and user.is_active:
            await refuse_last_admin(user.id)
        await User.filter(id=user.id).delete()
    # Open sockets re-check their caller now, rather than at their next look.
    await access_taken_away()
    return user
