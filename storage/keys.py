"""The one place where object keys and prefixes are checked.

Both backends accept exactly the same keys, so an object that can be stored
in MinIO can be stored in the local folder and the other way round. The rules
also make a key safe to turn into a relative path: no absolute paths, no
"." or ".." segments, no empty segments, no backslashes.
"""

from __future__ import annotations

import unicodedata

from storage.errors import InvalidObjectKey

MAX_KEY_BYTES = 1024
# Most filesystems cap one path component at 255 bytes (NAME_MAX). S3 has no
# such cap, but enforcing it everywhere keeps the backends interchangeable.
MAX_SEGMENT_BYTES = 255


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a valid object key, else raise InvalidObjectKey."""
    if not isinstance(key, str) or not key:
        raise InvalidObjectKey("object key must be a non-empty string")
    _check_text(key, "object key")
    if key.startswith("/"):
        raise InvalidObjectKey(f"object key must not start with '/': {key!r}")
    for segment in key.split("/"):
        _check_segment(key, segment)
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` unchanged if it can start a valid key, else raise InvalidObjectKey.

    "" means everything. The last segment may be partial ("scripts/12" matches
    "scripts/12/a" and "scripts/123"), so it may be empty (a trailing "/") and
    may be "." or ".." (which begin valid names such as "..notes").
    """
    if not isinstance(prefix, str):
        raise InvalidObjectKey("prefix must be a string")
    if not prefix:
        return prefix
    _check_text(prefix, "prefix")
    if prefix.startswith("/"):
        raise InvalidObjectKey(f"prefix must not start with '/': {prefix!r}")
    *complete, _partial = prefix.split("/")
    for segment in complete:
        _check_segment(prefix, segment)
    return prefix


def is_valid_key(key: str) -> bool:
    """For filtering names found in storage that were not written through us."""
    try:
        validate_key(key)
    except InvalidObjectKey:
        return False
    return True


def validate_delete_prefix(prefix: str) -> str:
    """Like validate_prefix, but "" is refused.

    An empty prefix would wipe the whole store; that is never what a caller
    building "scripts/{id}/" from an empty id meant.
    """
    validate_prefix(prefix)
    if not prefix:
        raise InvalidObjectKey("delete_prefix needs a non-empty prefix")
    return prefix


def _check_text(value: str, what: str) -> None:
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be stored anywhere
        raise InvalidObjectKey(f"{what} is not valid Unicode: {value!r}") from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidObjectKey(f"{what} is longer than {MAX_KEY_BYTES} bytes in UTF-8")
    if "\\" in value:
        raise InvalidObjectKey(f"{what} must not contain a backslash: {value!r}")
    # Category Cc covers C0, DEL and C1: they break HTTP headers, logs and shells.
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise InvalidObjectKey(f"{what} must not contain control characters: {value!r}")


def _check_segment(value: str, segment: str) -> None:
    if not segment:
        raise InvalidObjectKey(f"empty path segment in {value!r}")
    if segment in (".", ".."):
        raise InvalidObjectKey(f"'.' and '..' segments are not allowed: {value!r}")
    if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
        raise InvalidObjectKey(f"a path segment is longer than {MAX_SEGMENT_BYTES} bytes")
