"""The byte limits of storage/keys.py at their exact edges.

A key is also a relative path in the local backend: the whole-key limit
keeps it under PATH_MAX-sized buffers and S3's own 1,024-byte cap, so both
backends refuse exactly the same keys.
"""

from __future__ import annotations

import pytest

from storage import InvalidObjectKey
from storage.keys import MAX_KEY_BYTES, validate_key, validate_prefix


def _key_of(size: int) -> str:
    # Four full segments of 255 bytes, four slashes, and the rest.
    key = "/".join(["k" * 255] * 3 + ["k" * 254, "y" * (size - 1023)])
    assert len(key.encode()) == size
    return key


def test_a_key_of_1024_bytes_is_valid() -> None:
    assert MAX_KEY_BYTES == 1024
    assert validate_key(_key_of(1024)) == _key_of(1024)
    assert validate_prefix(_key_of(1024)) == _key_of(1024)


def test_a_key_of_1025_bytes_is_refused() -> None:
    with pytest.raises(InvalidObjectKey, match="longer than 1024 bytes"):
        validate_key(_key_of(1025))
    with pytest.raises(InvalidObjectKey, match="longer than 1024 bytes"):
        validate_prefix(_key_of(1025))


def test_the_limit_counts_utf8_bytes_not_characters() -> None:
    two_byte = "é" * 127 + "/" + "é" * 127 + "/" + "é" * 127 + "/" + "é" * 127 + "/" + "é" * 3
    assert len(two_byte.encode()) == 1024 + 2
    with pytest.raises(InvalidObjectKey, match="longer than 1024 bytes"):
        validate_key(two_byte)


@pytest.mark.parametrize("key", [123, b"bytes/key", ["a"]])
def test_a_key_that_is_not_a_string_is_refused(key: object) -> None:
    with pytest.raises(InvalidObjectKey, match="non-empty string"):
        validate_key(key)  # type: ignore[arg-type]


def test_an_empty_key_is_refused_as_empty() -> None:
    with pytest.raises(InvalidObjectKey, match="non-empty string"):
        validate_key("")
