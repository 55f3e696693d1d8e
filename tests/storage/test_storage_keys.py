"""The key rules, checked in one place for both backends."""

from __future__ import annotations

import pytest

from storage import InvalidObjectKey
from storage.keys import is_valid_key, validate_delete_prefix, validate_key, validate_prefix

VALID = [
    "a",
    "a/b/c.txt",
    "...",
    ".hidden",
    "a/..b",
    "a/b.",
    "ünïcode/файл 1.txt",
    "x" * 255,
    "/".join(["s" * 200] * 5),  # 1004 bytes
    "é" * 127 + "/" + "é" * 127,
]
INVALID = [
    "",
    "/a",
    "a/",
    "a//b",
    ".",
    "..",
    "./a",
    "a/.",
    "a/../b",
    "a\\b",
    "a\x00",
    "a\x1f",
    "a\x7f",
    "a\x9f",
    "x" * 256,
    "/".join(["s" * 200] * 6),  # 1205 bytes
    "\udcff",
]


@pytest.mark.parametrize("key", VALID)
def test_valid_keys(key: str) -> None:
    assert validate_key(key) == key
    assert is_valid_key(key)


@pytest.mark.parametrize("key", INVALID, ids=[repr(k)[:16] for k in INVALID])
def test_invalid_keys(key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        validate_key(key)
    assert not is_valid_key(key)


def test_invalid_key_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_key("../etc/passwd")


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/b", "a/.", "a/..", "a/.x", "scripts/12"])
def test_valid_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "/a", "a//", "../", "a/../", "./", "a\\", "a\n"])
def test_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidObjectKey):
        validate_prefix(prefix)


def test_delete_prefix_must_not_be_empty() -> None:
    assert validate_delete_prefix("a/") == "a/"
    with pytest.raises(InvalidObjectKey):
        validate_delete_prefix("")
