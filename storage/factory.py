"""Pick the backend from the config type."""

from __future__ import annotations

from storage.base import ObjectStore
from storage.config import LocalStorageConfig, S3StorageConfig
from storage.local import LocalObjectStore
from storage.s3 import S3ObjectStore


def create_object_store(config: LocalStorageConfig | S3StorageConfig) -> ObjectStore:
    if isinstance(config, LocalStorageConfig):
        return LocalObjectStore(config)
    if isinstance(config, S3StorageConfig):
        return S3ObjectStore(config)
    raise TypeError(f"unknown storage config: {type(config).__name__}")
