"""Object store in a local folder: the embedded default.

All file I/O runs in threads (see storage.local_tree for the on-disk layout and
why it is safe against symlinks and crashes). Writes to one key are
serialised in-process so that an object's bytes and its content-type sidecar
always come from the same put.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from storage.aio import KeyedLocks, run_sync
from storage.base import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    ObjectInfo,
    normalize_content_type,
)
from storage.config import LocalStorageConfig
from storage.errors import ObjectNotFound, ObjectTooLarge, StorageUnavailable
from storage.keys import validate_delete_prefix, validate_key, validate_prefix
from storage.local_tree import FileFacts, LocalTree

T = TypeVar("T")

# Small chunks from a client are gathered before a thread hop to write them.
_WRITE_BATCH_BYTES = 1024 * 1024


class LocalObjectStore:
    def __init__(self, config: LocalStorageConfig) -> None:
        self._tree = LocalTree(config.root)
        self._locks = KeyedLocks()

    @property
    def root(self) -> str:
        return str(self._tree.root)

    async def ensure_ready(self) -> None:
        await _run(self._tree.prepare)

    async def put_bytes(
        self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        async def once() -> AsyncIterator[bytes]:
            yield data

        return await self.put_stream(key, once(), content_type)

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        content_type: str = DEFAULT_CONTENT_TYPE,
        max_bytes: int | None = None,
    ) -> ObjectInfo:
        validate_key(key)
        content_type = normalize_content_type(content_type)
        temp = await _run(self._tree.create_temp)
        try:
            size = 0
            batch: list[bytes] = []
            batched = 0
            async for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ObjectTooLarge(key, max_bytes)
                batch.append(chunk)
                batched += len(chunk)
                if batched >= _WRITE_BATCH_BYTES:
                    await _run(self._tree.write_temp, temp, batch)
                    batch, batched = [], 0
            if batch:
                await _run(self._tree.write_temp, temp, batch)
            facts = await _run(self._tree.seal_temp, temp)
            async with self._locks.hold(key):
                await _run(self._tree.commit, key, temp, content_type)
        except BaseException:
            # The original error matters more than a failed cleanup; a temp
            # file left behind is removed as stale by a later ensure_ready().
            with contextlib.suppress(Exception):
                await _run(self._tree.discard_temp, temp)
            raise
        return _info(key, facts, content_type)

    async def get_bytes(self, key: str) -> bytes:
        validate_key(key)
        return await _run(self._tree.read_all, key)

    def iter_chunks(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        validate_key(key)  # here, not in the generator, so a bad key fails at the call
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        return self._iter_chunks(key, chunk_size)

    async def _iter_chunks(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        fd = await _run(self._tree.open_object, key)
        try:
            while chunk := await _run(os.read, fd, chunk_size):
                yield chunk
        finally:
            os.close(fd)  # no read can be in flight: _run waits for its thread

    async def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        facts, content_type = await _run(self._tree.stat_object, key)
        return _info(key, facts, content_type)

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except ObjectNotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        validate_key(key)
        async with self._locks.hold(key):
            await _run(self._tree.delete, key)

    async def delete_prefix(self, prefix: str) -> int:
        validate_delete_prefix(prefix)
        keys = await _run(lambda: [key for key, _ in self._tree.walk(prefix)])
        deleted = 0
        for key in keys:
            async with self._locks.hold(key):
                deleted += await _run(self._tree.delete, key)
        return deleted

    async def list(self, prefix: str = "") -> list[ObjectInfo]:
        validate_prefix(prefix)

        def scan() -> list[ObjectInfo]:
            return sorted(
                (
                    _info(key, facts, self._tree.content_type(key))
                    for key, facts in self._tree.walk(prefix)
                ),
                key=lambda info: info.key,
            )

        return await _run(scan)

    async def presigned_get_url(
        self, key: str, expires: timedelta, download_name: str | None = None
    ) -> str | None:
        validate_key(key)
        return None  # nothing serves the folder over HTTP: the service streams it

    async def close(self) -> None:
        return None  # no handles are kept between calls


async def _run(func: Callable[..., T], *args: Any) -> T:
    """Run blocking file work in a thread; an unexpected OSError means the disk failed us."""
    try:
        return await run_sync(func, *args)
    except OSError as exc:
        raise StorageUnavailable(f"local storage error: {exc}") from exc


def _info(key: str, facts: FileFacts, content_type: str) -> ObjectInfo:
    return ObjectInfo(key, facts.size, content_type, datetime.fromtimestamp(facts.mtime, UTC))
