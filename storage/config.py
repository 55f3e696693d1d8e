"""Settings for the two backends; the service builds one from its environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LocalStorageConfig:
    root: Path


@dataclass(frozen=True)
class S3StorageConfig:
    endpoint: str  # "host:port" or "http(s)://host:port"; a URL's scheme wins over `secure`
    access_key: str
    secret_key: str
    bucket: str
    secure: bool = False
    region: str | None = None  # None: asked from the server once per bucket
    # Fail fast when the endpoint is down instead of minio's 5-minute / 5-retry
    # defaults, which would hang requests (and start-up) for minutes.
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_retries: int = 2
