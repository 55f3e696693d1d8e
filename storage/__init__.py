"""Object storage for script files and uploads: S3 (minio SDK) or a local folder."""

from storage.base import ObjectInfo, ObjectStore
from storage.config import LocalStorageConfig, S3StorageConfig
from storage.errors import InvalidObjectKey, ObjectNotFound, ObjectTooLarge, StorageUnavailable
from storage.factory import create_object_store

__all__ = [
    "InvalidObjectKey",
    "LocalStorageConfig",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectTooLarge",
    "S3StorageConfig",
    "StorageUnavailable",
    "create_object_store",
]
