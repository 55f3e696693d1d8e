"""The content of the script versions a worker ran lately, by sha256.

A saved version never changes, and its row names its content's sha256: a
copy whose hash was checked when it was read is that version's content,
whichever store it came from. A script run again then skips the store (a
file read in a thread, or an S3 round trip) on the path of its run."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from storage import ObjectStore

MAX_ENTRIES = 256
MAX_BYTES = 16 * 2**20


class ScriptContents:
    def __init__(
        self, store: ObjectStore, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES
    ) -> None:
        self._store = store
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0

    async def read(self, storage_key: str, sha256: str) -> bytes:
        """The version's content: kept, or read from the store."""
        kept = self._kept.get(sha256)
        if kept is not None:
            self._kept.move_to_end(sha256)
            return kept
        content = await self._store.get_bytes(storage_key)
        # A copy that does not match its row is used as the store gave it
        # (as without this cache), never kept.
        if hashlib.sha256(content).hexdigest() == sha256 and len(content) <= self._max_bytes:
            self._keep(sha256, content)
        return content

    def _keep(self, sha256: str, content: bytes) -> None:
        if sha256 in self._kept:
            return
        self._kept[sha256] = content
        self._bytes += len(content)
        while len(self._kept) > self._max_entries or self._bytes > self._max_bytes:
            _, dropped = self._kept.popitem(last=False)
            self._bytes -= len(dropped)
