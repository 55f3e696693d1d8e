"""The worker's copies of script versions (worker/script_contents.py).

A copy is kept only when it matches the hash its version row names, and is
then served without the store; the store's own copy of anything else."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from storage import LocalStorageConfig, ObjectNotFound, ObjectStore, create_object_store
from worker.script_contents import ScriptContents


async def _store(root: Path) -> ObjectStore:
    store = create_object_store(LocalStorageConfig(root=root))
    await store.ensure_ready()
    return store


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_a_version_read_once_is_served_without_the_store(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    content = b"def main(data):\n    return data\n"
    await store.put_bytes("scripts/a/1", content)
    contents = ScriptContents(store)
    assert await contents.read("scripts/a/1", _sha(content)) == content
    await store.delete("scripts/a/1")
    assert await contents.read("scripts/a/1", _sha(content)) == content


async def test_a_copy_that_does_not_match_its_hash_is_not_kept(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    await store.put_bytes("scripts/a/1", b"tampered")
    contents = ScriptContents(store)
    assert await contents.read("scripts/a/1", _sha(b"original")) == b"tampered"
    await store.put_bytes("scripts/a/1", b"original")
    assert await contents.read("scripts/a/1", _sha(b"original")) == b"original"


async def test_the_least_recently_used_copies_go_first(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    versions = {f"scripts/s/{i}": f"print({i})".encode() for i in range(3)}
    for key, content in versions.items():
        await store.put_bytes(key, content)
    contents = ScriptContents(store, max_entries=2)
    for key, content in versions.items():
        await contents.read(key, _sha(content))
    for key in versions:
        await store.delete(key)
    # The first was dropped to make room for the third; the others stay.
    with pytest.raises(ObjectNotFound):
        await contents.read("scripts/s/0", _sha(versions["scripts/s/0"]))
    for key in ("scripts/s/1", "scripts/s/2"):
        assert await contents.read(key, _sha(versions[key])) == versions[key]
