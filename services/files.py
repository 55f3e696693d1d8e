"""Users' files and executions' artifacts in object storage.

A file is addressed by a key the user chooses (optional prefix + sanitised
name) and stored under a fresh storage key, so replacing it never exposes a
half-written object; the row is written after the object, and the object is
deleted again when the row cannot be."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import AlreadyExists, BadUserInput, NotFound, PayloadTooLarge
from models.files import Artifact, StoredFile
from services.access import Caller, get_artifact, get_file, visible
from storage import ObjectStore, ObjectTooLarge

if TYPE_CHECKING:
    # Named in one annotation: the files service needs no sandbox to load.
    from sandbox import Artifact as SandboxArtifact

UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_SEGMENT = 128
MAX_KEY = 512
CHUNK = 256 * 1024


@dataclass
class SavedArtifacts:
    saved: list[Artifact] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # "name (reason)", as the sandbox's


def sanitize_segment(raw: str) -> str:
    """A name safe everywhere: letters, digits, '.', '_', '-'; no leading dot."""
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    text = UNSAFE.sub("_", text).strip("._") or "file"
    return text[:MAX_SEGMENT]


def file_key(prefix: str | None, filename: str) -> str:
    name = sanitize_segment(filename.replace("\\", "/").rsplit("/", 1)[-1])
    segments = [sanitize_segment(s) for s in (prefix or "").split("/") if s.strip()]
    key = "/".join([*segments, name])
    if len(key) > MAX_KEY:
        raise BadUserInput(f"File keys may be at most {MAX_KEY} characters.")
    return key


def files_prefix(owner_id: object) -> str:
    """Where a user's uploaded files lie in object storage."""
    return f"files/{owner_id}/"


def artifact_prefix(execution_id: object) -> str:
    """Where an execution's artifacts lie in object storage."""
    return f"artifacts/{execution_id}/"


def content_type_for(name: str, given: str | None = None) -> str:
    if given and given != "application/octet-stream" and given.isascii():
        return given
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def run_file_names(keys: list[str]) -> list[str]:
    """The name each key gets in a run's /job/in/ (flat: ``a/b.txt`` ->
    ``a_b.txt``); two keys that would share one are refused."""
    names = [sanitize_segment(key.replace("/", "_")) for key in keys]
    if len(set(names)) != len(names):
        raise BadUserInput("Two of the files would have the same name in /job/in/.")
    return names


class FileStore:
    def __init__(self, store: ObjectStore, max_file_bytes: int) -> None:
        self._store = store
        self._max_file_bytes = max_file_bytes

    async def upload(
        self,
        caller: Caller,
        filename: str,
        chunks: AsyncIterator[bytes],
        content_type: str | None,
        prefix: str | None,
        replace: bool,
    ) -> StoredFile:
        key = file_key(prefix, filename)
        existing = await StoredFile.get_or_none(owner_id=caller.id, key=key)
        if existing is not None and not replace:
            raise AlreadyExists(f"A file with key '{key}' exists; pass replace: true.")
        digest = hashlib.sha256()

        async def hashed() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                digest.update(chunk)
                yield chunk

        storage_key = f"{files_prefix(caller.id)}{uuid.uuid4().hex}"
        ctype = content_type_for(key, content_type)
        try:
            info = await self._store.put_stream(
                storage_key, hashed(), ctype, max_bytes=self._max_file_bytes
            )
        except ObjectTooLarge:
            raise PayloadTooLarge(f"Files may be at most {self._max_file_bytes} bytes.") from None
        try:
            async with in_transaction():
                if existing is not None:
                    await StoredFile.filter(id=existing.id).delete()
                row = await StoredFile.create(
                    owner_id=caller.id,
                    key=key,
                    size=info.size,
                    content_type=ctype,
                    sha256=digest.hexdigest(),
                    storage_key=storage_key,
                )
        except IntegrityError:
            await self._store.delete(storage_key)
            raise AlreadyExists(f"A file with key '{key}' exists; pass replace: true.") from None
        except BaseException:
            await self._store.delete(storage_key)
            raise
        if existing is not None:
            await self._store.delete(existing.storage_key)
        return row

    async def get(self, caller: Caller, key: str) -> StoredFile:
        return await get_file(caller, key)

    async def get_artifact(self, caller: Caller, execution_id: str, name: str) -> Artifact:
        return await get_artifact(caller, execution_id, name)

    async def list_files(self, caller: Caller, prefix: str | None) -> list[StoredFile]:
        query = visible(StoredFile.all(), caller)
        if prefix:
            query = query.filter(key__startswith=prefix)
        return await query.order_by("key")

    async def delete(self, caller: Caller, key: str) -> None:
        row = await self.get(caller, key)
        await row.delete()
        await self._store.delete(row.storage_key)

    async def read_for_run(
        self, owner_id: str, keys: list[str], max_bytes: int
    ) -> list[tuple[str, bytes]]:
        """(name under /job/in/, content) for each key, within the byte cap.

        The keys were checked when the run was queued (count, duplicates,
        names, existence, total size); files can be deleted or replaced
        while it waits, so existence and size are checked again here."""
        rows = {r.key: r for r in await StoredFile.filter(owner_id=owner_id, key__in=keys)}
        missing = [k for k in keys if k not in rows]
        if missing:
            raise NotFound(f"No file with key '{missing[0]}'.")
        total = sum(rows[k].size for k in keys)
        if total > max_bytes:
            raise BadUserInput(f"The files of one run may total at most {max_bytes} bytes.")
        names = run_file_names(keys)
        return [
            (name, await self._store.get_bytes(rows[k].storage_key))
            for name, k in zip(names, keys, strict=True)
        ]

    def stream(self, storage_key: str) -> AsyncIterator[bytes]:
        return self._store.iter_chunks(storage_key, CHUNK)

    async def presigned_url(self, storage_key: str, download_name: str) -> str | None:
        from datetime import timedelta

        return await self._store.presigned_get_url(
            storage_key, timedelta(minutes=15), download_name=download_name
        )

    async def save_artifacts(
        self, execution_id: str, artifacts: list[SandboxArtifact]
    ) -> SavedArtifacts:
        """Store each artifact under its flat name (``a/b.txt`` -> ``a_b.txt``).

        Distinct sandbox names can share a flat name (``a/b.txt``, ``a_b.txt``,
        ``a+b.txt``): the first in the runner's order is kept, and each later
        one is refused by its own name, naming the one that holds the name.
        """
        result = SavedArtifacts()
        holder: dict[str, str] = {}
        for artifact in artifacts:
            name = sanitize_segment(artifact.name.replace("/", "_"))
            if name in holder:
                result.rejected.append(
                    f"{artifact.name} (stored name {name} already taken by {holder[name]})"
                )
                continue
            holder[name] = artifact.name
            storage_key = f"{artifact_prefix(execution_id)}{uuid.uuid4().hex}"
            ctype = content_type_for(name)
            await self._store.put_bytes(storage_key, artifact.data, ctype)
            # One call per execution, names already distinct: no clash left
            # for the (execution, name) constraint to find. The execution
            # itself can be gone (its script was deleted while it ran): then
            # its object goes too, rather than lie where no row names it.
            try:
                row = await Artifact.create(
                    execution_id=execution_id,
                    name=name,
                    size=len(artifact.data),
                    content_type=ctype,
                    storage_key=storage_key,
                )
            except BaseException:
                await self._store.delete(storage_key)
                raise
            result.saved.append(row)
        return result
