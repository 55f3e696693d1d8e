"""Whole responses to `tree` queries, reused while the tree stands still.

A response is kept only when a compiled tree plan answered its one root
field from the owner's rows (graphql_api/executor.py records the owner and
the revision it read first). It is reused for the same request (query text,
variables, operation name, response media type) from the same caller (user,
token, scopes, and what they reach: their shared folders and roles, read
afresh for every request, so an unshare or a membership change is a
different key) as long as the owner's tree revision (services/tree_revision.py,
in the database, so a change made through any API process counts) has not
moved. The revision is read for every reuse: one small query.

GET responses carry an ETag of that key and revision (private, revalidated
on every use), and an If-None-Match that names it gets 304 Not Modified.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from services.access import Caller

# Memory for kept responses per API process (least recently used go first);
# one response may take at most a quarter of it.
CACHE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class TreeResponse:
    owner_id: str | None
    revision: int
    body: bytes
    content_type: str

    def etag(self, key: str) -> str:
        digest = hashlib.sha256(f"{key}:{self.owner_id}:{self.revision}".encode()).hexdigest()
        return f'"{digest[:32]}"'


def caller_fingerprint(caller: Caller) -> list[Any]:
    """Everything about a caller that can change what their tree shows."""
    token = caller.token
    return [
        str(caller.id),
        None if token is None else token.id,
        None if token is None else token.folder_id,
        sorted(scope.name for scope in caller.scopes),
        caller.own_tree,
        caller.is_admin,
        sorted((folder_id, role.name) for folder_id, role in caller.shared.items()),
    ]


def request_key(
    caller: Caller, media_type: str, query: str, variables: Any, operation_name: Any
) -> str:
    material = json.dumps(
        [caller_fingerprint(caller), media_type, query, variables, operation_name],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).hexdigest()


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


class TreeResponseCache:
    """An LRU of kept responses, bounded by their total size."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[str, TreeResponse] = OrderedDict()

    def get(self, key: str) -> TreeResponse | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: str, response: TreeResponse) -> None:
        if len(response.body) > self._max_bytes // 4:
            return
        self.drop(key)
        self._entries[key] = response
        self._bytes += len(response.body)
        while self._bytes > self._max_bytes:
            _, oldest = self._entries.popitem(last=False)
            self._bytes -= len(oldest.body)

    def drop(self, key: str) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
