"""The object store interface the service codes against."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

DEFAULT_CONTENT_TYPE = "application/octet-stream"
DEFAULT_CHUNK_SIZE = 64 * 1024
MAX_CONTENT_TYPE_CHARS = 255


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str
    last_modified: datetime  # tz-aware UTC


@runtime_checkable
class ObjectStore(Protocol):
    async def ensure_ready(self) -> None:
        """Create the bucket / root folder; raise StorageUnavailable if unreachable."""

    async def put_bytes(
        self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo: ...

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        content_type: str = DEFAULT_CONTENT_TYPE,
        max_bytes: int | None = None,
    ) -> ObjectInfo:
        """Store a stream without holding it all in memory.

        If the stream goes past ``max_bytes`` (ObjectTooLarge) or raises, nothing
        is left behind and an existing object under ``key`` stays as it was.
        """

    async def get_bytes(self, key: str) -> bytes: ...

    def iter_chunks(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Stream an object; InvalidObjectKey at call time, ObjectNotFound on first iteration."""

    async def stat(self, key: str) -> ObjectInfo: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    async def delete_prefix(self, prefix: str) -> int: ...

    async def list(self, prefix: str = "") -> list[ObjectInfo]: ...

    async def presigned_get_url(
        self, key: str, expires: timedelta, download_name: str | None = None
    ) -> str | None: ...

    async def close(self) -> None: ...


def normalize_content_type(content_type: str | None) -> str:
    """Default an empty content type and refuse ones that would corrupt a header.

    It travels as an HTTP header (S3, presigned downloads), so it must be short
    printable ASCII.
    """
    if not content_type:
        return DEFAULT_CONTENT_TYPE
    if (
        len(content_type) > MAX_CONTENT_TYPE_CHARS
        or not content_type.isascii()
        or any(unicodedata.category(char) == "Cc" for char in content_type)
    ):
        raise ValueError(f"invalid content type: {content_type!r}")
    return content_type


def as_utc(moment: datetime) -> datetime:
    """Backends hand back naive or offset datetimes; the interface promises aware UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
