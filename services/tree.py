"""The folder/script tree: one owner's whole tree read in one query per
table, a script found by its path, and every change.

Each change either completes or leaves nothing behind: storage objects
are written under a fresh key before the rows that point at them, and are
deleted again when the rows cannot be written. Deleting a script deletes its
runs (the database cascades): their objects go first, then the rows, then
the script's own contents (services/execution_objects.py)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import (
    AlreadyExists,
    BadUserInput,
    Conflict,
    InvalidScript,
    NotFound,
    PayloadTooLarge,
    ScriptExistsReplaceRequired,
)
from core.languages import Language
from core.names import infer_language, split_path, validate_name
from core.roles import Role
from models.base import ROOT_KEY
from models.tree import Folder, Script, ScriptVersion
from models.users import User
from services.access import (
    Caller,
    check_same_tree,
    get_folder,
    get_script,
    get_visible_where,
    owner_of_new_row,
    require_edit_folder,
    require_edit_script,
    require_role,
)
from services.execution_objects import delete_objects_of_scripts
from services.script_check import check_script
from services.tree_index import FolderIndex, ScriptIndex
from services.tree_revision import tree_changed

if TYPE_CHECKING:
    # The store is handed in; only its type is named here.
    from storage import ObjectStore

log = logging.getLogger(__name__)

SCRIPT_CONTENT_TYPE = "text/plain; charset=utf-8"
# Reading many script contents at once is I/O bound; bound the fan-out so one
# request cannot open thousands of storage connections.
CONTENT_READ_CONCURRENCY = 16
# '~alice/geology/analysis.py': a path in alice's tree, for those she shares with.
USER_PATH_MARK = "~"


def check_secret_names(names: list[str] | None) -> list[str] | None:
    if names is None:
        return None
    from services.secrets import check_secret_name

    checked = [check_secret_name(name) for name in names]
    if len(set(checked)) != len(checked):
        raise BadUserInput("A secret is named twice.")
    return checked


def dependency_key(language: Language, content: str, requirements: str | None) -> str | None:
    """Checks what a script declares it needs (services/dependencies/) and keys it."""
    from services.dependencies.declarations import DeclarationError, key_for_save

    try:
        return key_for_save(language is Language.PYTHON, content, requirements)
    except DeclarationError as exc:
        if exc.in_requirements:
            raise BadUserInput(f"requirements: {exc.message}", line=exc.line) from None
        raise InvalidScript(exc.message, line=exc.line) from None


def requirements_text(text: str | None) -> str | None:
    return text if text is not None and text.strip() else None


def parent_key(folder_id: uuid.UUID | str | None) -> str:
    return ROOT_KEY if folder_id is None else str(folder_id)


def script_prefix(script_id: uuid.UUID | str) -> str:
    return f"scripts/{script_id}/"


# ---- one owner's whole tree, one query per table -------------------------


async def folder_index(owner_id: uuid.UUID | str) -> FolderIndex:
    return FolderIndex(await Folder.filter(owner_id=owner_id))


async def script_index(owner_id: uuid.UUID | str) -> ScriptIndex:
    return ScriptIndex(await Script.filter(owner_id=owner_id))


async def versions_by_script(owner_id: uuid.UUID | str) -> dict[str, list[ScriptVersion]]:
    """Every version of every script of the owner, by script id, oldest first."""
    rows = await ScriptVersion.filter(script__owner_id=owner_id).order_by("version")
    by_script: dict[str, list[ScriptVersion]] = defaultdict(list)
    for row in rows:
        by_script[str(row.script_id)].append(row)
    return by_script


async def script_at_path(caller: Caller, path: str, index: FolderIndex | None = None) -> Script:
    """The script at a path such as 'geology/analysis.py' in the caller's own
    tree (`index`: that tree's folders, when already loaded), or
    '~alice/geology/analysis.py' in alice's; else NOT_FOUND, also when the
    caller may not see it."""
    not_found = f"No script at '{path}'."
    owner_id: uuid.UUID | str = caller.id
    if path.startswith(USER_PATH_MARK):
        username, _, path = path[len(USER_PATH_MARK) :].partition("/")
        owner = await User.get_or_none(username=username.lower())
        if owner is None or not path:
            raise NotFound(not_found)
        if owner.id != caller.id:
            owner_id, index = owner.id, None
    *folder_names, name = split_path(path)
    folder_id = None
    if folder_names:
        index = index or await folder_index(owner_id)
        folder = index.resolve(folder_names)
        if folder is None:
            raise NotFound(not_found)
        folder_id = folder.id
    return await get_visible_where(
        Script, caller, not_found, owner_id=owner_id, parent_key=parent_key(folder_id), name=name
    )


async def folder_at_path(caller: Caller, path: str) -> Folder:
    """The folder at a path such as 'geology/field' in the caller's own tree,
    or '~alice/geology' in alice's; else NOT_FOUND, also when the caller may
    not see it."""
    not_found = f"No folder at '{path}'."
    owner_id: uuid.UUID | str = caller.id
    if path.startswith(USER_PATH_MARK):
        username, _, path = path[len(USER_PATH_MARK) :].partition("/")
        owner = await User.get_or_none(username=username.lower())
        if owner is None or not path.strip("/"):
            raise NotFound(not_found)
        owner_id = owner.id
    folder = (await folder_index(owner_id)).resolve(split_path(path))
    if folder is None:
        raise NotFound(not_found)
    return await get_visible_where(Folder, caller, not_found, id=folder.id)


async def shown_folder_path(viewer_id: uuid.UUID | str, folder_id: uuid.UUID | str) -> str | None:
    """A folder's path as `folder_at_path` reads it for `viewer_id`: plain in
    their own tree, '~owner/...' in another's (None: the folder is gone)."""
    folder = await Folder.get_or_none(id=folder_id).prefetch_related("owner")
    if folder is None:
        return None
    path = (await folder_index(folder.owner_id)).path(folder.id)
    if str(folder.owner_id) == str(viewer_id):
        return path
    owner: User = folder.owner
    return f"{USER_PATH_MARK}{owner.username}/{path}"


@dataclass(frozen=True)
class ScriptContent:
    text: str

    @property
    def data(self) -> bytes:
        return self.text.encode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class TreeService:
    def __init__(self, store: ObjectStore, max_script_bytes: int, max_folder_depth: int) -> None:
        self._store = store
        self._max_script_bytes = max_script_bytes
        self._max_folder_depth = max_folder_depth

    # ---- folders -------------------------------------------------------

    async def create_folder(self, caller: Caller, name: str, parent_id: str | None) -> Folder:
        name = validate_name(name, "Folder name")
        parent = await get_folder(caller, parent_id) if parent_id is not None else None
        owner_id = owner_of_new_row(caller, parent)
        require_role(caller, parent.id if parent else None, owner_id, Role.EDITOR, "create folders")
        index = await folder_index(owner_id)
        if index.depth(parent.id if parent else None) + 1 > self._max_folder_depth:
            raise BadUserInput(f"Folders may nest at most {self._max_folder_depth} levels deep.")
        await self._check_name_free(owner_id, parent.id if parent else None, name)
        try:
            created = await Folder.create(
                owner_id=owner_id,
                parent_id=parent.id if parent else None,
                parent_key=parent_key(parent.id if parent else None),
                name=name,
            )
        except IntegrityError:
            raise AlreadyExists(f"'{name}' already exists in that folder.") from None
        await tree_changed(owner_id)
        return created

    async def rename_folder(self, caller: Caller, folder_id: str, name: str) -> Folder:
        name = validate_name(name, "Folder name")
        folder = await get_folder(caller, folder_id)
        require_edit_folder(caller, folder, "rename this folder")
        if name == folder.name:
            return folder
        await self._check_name_free(folder.owner_id, folder.parent_id, name)
        folder.name = name
        await self._save_unique(folder, name)
        return folder

    async def move_folder(
        self, caller: Caller, folder_id: str, new_parent_id: str | None
    ) -> Folder:
        folder = await get_folder(caller, folder_id)
        target = await get_folder(caller, new_parent_id) if new_parent_id is not None else None
        check_same_tree(target, folder)
        require_edit_folder(caller, folder, "move this folder")
        require_role(
            caller, target.id if target else None, folder.owner_id, Role.EDITOR, "move folders"
        )
        index = await folder_index(folder.owner_id)
        target_id = target.id if target else None
        if target_id is not None and str(target_id) in index.subtree_ids(folder.id):
            raise BadUserInput("A folder cannot move into itself or into a folder inside it.")
        if index.depth(target_id) + index.subtree_height(folder.id) > self._max_folder_depth:
            raise BadUserInput(f"Folders may nest at most {self._max_folder_depth} levels deep.")
        if str(target_id) == str(folder.parent_id):
            return folder
        await self._check_name_free(folder.owner_id, target_id, folder.name)
        folder.parent_id = target_id  # type: ignore[assignment]
        folder.parent_key = parent_key(target_id)
        await self._save_unique(folder, folder.name)
        return folder

    async def delete_folder(self, caller: Caller, folder_id: str) -> None:
        folder = await get_folder(caller, folder_id)
        require_edit_folder(caller, folder, "delete this folder")
        index = await folder_index(folder.owner_id)
        folder_ids = index.subtree_ids(folder.id)
        script_ids: list[uuid.UUID] = await Script.filter(  # type: ignore[assignment]
            folder_id__in=folder_ids
        ).values_list("id", flat=True)
        await delete_objects_of_scripts(self._store, script_ids)
        async with in_transaction():
            await ScriptVersion.filter(script_id__in=script_ids).delete()
            await Script.filter(id__in=script_ids).delete()
            await Folder.filter(id__in=folder_ids).delete()
        await tree_changed(folder.owner_id)
        await self._delete_objects_of(script_ids)

    # ---- scripts -------------------------------------------------------

    async def create_script(
        self,
        caller: Caller,
        *,
        name: str,
        folder_id: str | None,
        content: str,
        language: Language | None,
        description: str | None,
        replace: bool,
        secret_names: list[str] | None = None,
        requirements: str | None = None,
    ) -> Script:
        name = validate_name(name, "Script name")
        secrets = check_secret_names(secret_names)
        language = infer_language(name, language)
        script_content = self._checked_size(content)
        await check_script(language, name, content)
        folder = await get_folder(caller, folder_id) if folder_id is not None else None
        owner_id = owner_of_new_row(caller, folder)
        require_role(caller, folder.id if folder else None, owner_id, Role.EDITOR, "create scripts")
        existing = await Script.get_or_none(
            owner_id=owner_id, parent_key=parent_key(folder.id if folder else None), name=name
        )
        if existing is not None:
            if not replace:
                raise ScriptExistsReplaceRequired(
                    f"A script named '{name}' already exists here; pass replace: true "
                    "to save this content as its next version.",
                    scriptId=str(existing.id),
                )
            existing.language = language
            if description is not None:
                existing.description = description
            if secrets is not None:
                existing.secret_names = secrets
            if requirements is not None:
                existing.requirements = requirements_text(requirements)
            existing.dependency_key = dependency_key(language, content, existing.requirements)
            return await self._save_new_version(existing, script_content, metadata_changed=True)
        if await Folder.exists(
            owner_id=owner_id, parent_key=parent_key(folder.id if folder else None), name=name
        ):
            raise AlreadyExists(f"A folder named '{name}' already exists there.")

        requirements = requirements_text(requirements)
        deps_key = dependency_key(language, content, requirements)
        script_id = uuid.uuid4()
        key = await self._put_version_object(script_id, 1, script_content)
        try:
            async with in_transaction():
                script = await Script.create(
                    id=script_id,
                    owner_id=owner_id,
                    folder_id=folder.id if folder else None,
                    parent_key=parent_key(folder.id if folder else None),
                    name=name,
                    description=description,
                    language=language,
                    version=1,
                    secret_names=secrets or [],
                    requirements=requirements,
                    dependency_key=deps_key,
                )
                await ScriptVersion.create(
                    script_id=script_id,
                    version=1,
                    sha256=script_content.sha256,
                    size=len(script_content.data),
                    storage_key=key,
                )
        except IntegrityError:
            await self._store.delete(key)
            raise ScriptExistsReplaceRequired(
                f"A script named '{name}' already exists here; pass replace: true."
            ) from None
        except BaseException:
            await self._store.delete(key)
            raise
        await tree_changed(owner_id)
        return script

    async def update_script(
        self,
        caller: Caller,
        script_id: str,
        *,
        name: str | None,
        content: str | None,
        language: Language | None,
        description: str | None,
        secret_names: list[str] | None = None,
        requirements: str | None = None,
    ) -> Script:
        script = await get_script(caller, script_id)
        require_edit_script(caller, script, "change this script")
        metadata_changed = False
        deps_changed = requirements is not None and (
            requirements_text(requirements) != script.requirements
        )
        if deps_changed:
            script.requirements = requirements_text(requirements)
            metadata_changed = True
        secrets = check_secret_names(secret_names)
        if secrets is not None and secrets != script.secret_names:
            script.secret_names = secrets
            metadata_changed = True
        if name is not None and name != script.name:
            name = validate_name(name, "Script name")
            await self._check_name_free(script.owner_id, script.folder_id, name)
            script.name = name
            metadata_changed = True
        if language is not None and language != script.language:
            script.language = language
            metadata_changed = True
        if description is not None and description != script.description:
            script.description = description
            metadata_changed = True
        if content is None:
            if language is not None:
                # A new language must still parse the current content.
                await check_script(script.language, script.name, await self.read_content(script))
            if deps_changed or language is not None:
                current = await self.read_content(script)
                script.dependency_key = dependency_key(
                    script.language, current, script.requirements
                )
                metadata_changed = True
            if metadata_changed:
                await self._save_unique(script, script.name)
            return script
        script_content = self._checked_size(content)
        await check_script(script.language, script.name, content)
        script.dependency_key = dependency_key(script.language, content, script.requirements)
        return await self._save_new_version(script, script_content, metadata_changed)

    async def revert_script(self, caller: Caller, script_id: str, version: int) -> Script:
        """A new version with the content of an earlier one."""
        script = await get_script(caller, script_id)
        require_edit_script(caller, script, "revert this script")
        old = await self.read_content(script, version)
        script.dependency_key = dependency_key(script.language, old, script.requirements)
        return await self._save_new_version(script, ScriptContent(old), metadata_changed=False)

    async def move_script(self, caller: Caller, script_id: str, folder_id: str | None) -> Script:
        script = await get_script(caller, script_id)
        target = await get_folder(caller, folder_id) if folder_id is not None else None
        check_same_tree(target, script)
        require_edit_script(caller, script, "move this script")
        require_role(
            caller, target.id if target else None, script.owner_id, Role.EDITOR, "move scripts"
        )
        target_id = target.id if target else None
        if str(target_id) == str(script.folder_id):
            return script
        await self._check_name_free(script.owner_id, target_id, script.name)
        script.folder_id = target_id  # type: ignore[assignment]
        script.parent_key = parent_key(target_id)
        await self._save_unique(script, script.name)
        return script

    async def delete_script(self, caller: Caller, script_id: str) -> None:
        script = await get_script(caller, script_id)
        require_edit_script(caller, script, "delete this script")
        await delete_objects_of_scripts(self._store, [script.id])
        async with in_transaction():
            await ScriptVersion.filter(script_id=script.id).delete()
            await script.delete()
        await tree_changed(script.owner_id)
        await self._delete_objects_of([script.id])

    async def read_content(self, script: Script, version: int | None = None) -> str:
        row = await ScriptVersion.get_or_none(
            script_id=script.id, version=version if version is not None else script.version
        )
        if row is None:
            raise NotFound("That version does not exist.")
        return (await self._store.get_bytes(row.storage_key)).decode()

    async def read_contents(self, storage_keys: Sequence[str]) -> list[str]:
        """The text of each stored version, in the order of `storage_keys`."""
        semaphore = asyncio.Semaphore(CONTENT_READ_CONCURRENCY)

        async def read(key: str) -> str:
            async with semaphore:
                return (await self._store.get_bytes(key)).decode()

        return list(await asyncio.gather(*(read(key) for key in storage_keys)))

    # ---- helpers -------------------------------------------------------

    def _checked_size(self, content: str) -> ScriptContent:
        script_content = ScriptContent(content)
        if len(script_content.data) > self._max_script_bytes:
            raise PayloadTooLarge(
                f"Scripts may be at most {self._max_script_bytes} bytes "
                f"(this one is {len(script_content.data)})."
            )
        return script_content

    async def _check_name_free(
        self, owner_id: uuid.UUID | str, folder_id: uuid.UUID | str | None, name: str
    ) -> None:
        key = parent_key(folder_id)
        if await Folder.exists(owner_id=owner_id, parent_key=key, name=name) or await Script.exists(
            owner_id=owner_id, parent_key=key, name=name
        ):
            raise AlreadyExists(f"'{name}' already exists in that folder.")

    async def _save_unique(self, row: Folder | Script, name: str) -> None:
        try:
            await row.save()
        except IntegrityError:
            raise AlreadyExists(f"'{name}' already exists in that folder.") from None
        await tree_changed(row.owner_id)

    async def _put_version_object(
        self, script_id: uuid.UUID, version: int, content: ScriptContent
    ) -> str:
        # A fresh suffix per attempt: two writers racing for the same version
        # number never overwrite each other's object, and the loser can delete
        # exactly its own.
        key = f"{script_prefix(script_id)}v{version}-{uuid.uuid4().hex[:12]}"
        await self._store.put_bytes(key, content.data, SCRIPT_CONTENT_TYPE)
        return key

    async def _save_new_version(
        self, script: Script, content: ScriptContent, metadata_changed: bool
    ) -> Script:
        current = await ScriptVersion.get_or_none(script_id=script.id, version=script.version)
        if current is not None and current.sha256 == content.sha256:
            # Same bytes: not a content change, so no new version.
            if metadata_changed:
                await self._save_unique(script, script.name)
            return script
        old_version = script.version
        new_version = old_version + 1
        key = await self._put_version_object(script.id, new_version, content)
        try:
            async with in_transaction():
                updated = await Script.filter(id=script.id, version=old_version).update(
                    version=new_version,
                    name=script.name,
                    description=script.description,
                    language=script.language,
                    secret_names=script.secret_names,
                    requirements=script.requirements,
                    dependency_key=script.dependency_key,
                    # QuerySet.update skips auto_now, so set it here.
                    updated_at=datetime.now(UTC),
                )
                if updated != 1:
                    raise Conflict("The script changed while saving; load it and try again.")
                await ScriptVersion.create(
                    script_id=script.id,
                    version=new_version,
                    sha256=content.sha256,
                    size=len(content.data),
                    storage_key=key,
                )
        except IntegrityError:
            await self._store.delete(key)
            raise AlreadyExists(f"'{script.name}' already exists in that folder.") from None
        except BaseException:
            await self._store.delete(key)
            raise
        await tree_changed(script.owner_id)
        await script.refresh_from_db()
        return script

    async def _delete_objects_of(self, script_ids: list[uuid.UUID] | list[str]) -> None:
        # Rows are gone already: a row that pointed at nothing would fail
        # every run, while objects left by a storage failure here are found
        # and deleted by the orphan sweep (services/orphan_sweep.py).
        for script_id in script_ids:
            try:
                await self._store.delete_prefix(script_prefix(script_id))
            except Exception:
                log.exception("could not delete the objects of deleted script %s", script_id)
