"""Types shared by the storage tests (test modules should not import conftest)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from storage import ObjectStore, S3StorageConfig


@dataclass
class StoreCase:
    kind: str  # "local" | "s3"
    store: ObjectStore
    # Anything a failed write could leave outside the object namespace:
    # temp files (local) or unfinished multipart uploads (S3).
    leftovers: Callable[[], Awaitable[list[str]]]
    s3_config: S3StorageConfig | None = None
    local_root: Path | None = None
