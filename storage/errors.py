"""Exceptions every object store raises, whatever the backend.

Callers (resolvers, the engine) catch these and never a backend's own
errors, so swapping MinIO for the local folder changes no error handling.
"""

from __future__ import annotations


class ObjectNotFound(Exception):
    """The key names no object."""

    def __init__(self, key: str) -> None:
        super().__init__(f"object not found: {key!r}")
        self.key = key


class ObjectTooLarge(Exception):
    """A streamed upload went past its ``max_bytes``; nothing was stored."""

    def __init__(self, key: str, max_bytes: int) -> None:
        super().__init__(f"object {key!r} exceeds the limit of {max_bytes} bytes")
        self.key = key
        self.max_bytes = max_bytes


class InvalidObjectKey(ValueError):
    """The key (or prefix) breaks the key rules, or cannot be stored as given.

    A ``ValueError`` so that generic input handling maps it to a user error.
    """


class StorageUnavailable(Exception):
    """The backend cannot be reached or refused to serve us (network, auth, bucket)."""
