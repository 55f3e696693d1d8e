"""Local-folder specifics: the on-disk layout, symlinks, atomic writes, pruning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import (
    InvalidObjectKey,
    LocalStorageConfig,
    ObjectNotFound,
    StorageUnavailable,
    create_object_store,
)
from storage.local import LocalObjectStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[tuple[LocalObjectStore, Path]]:
    root = tmp_path / "store"
    store = create_object_store(LocalStorageConfig(root=root))
    assert isinstance(store, LocalObjectStore)
    await store.ensure_ready()
    yield store, root
    await store.close()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"top secret")
    return folder


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())


async def test_layout_keeps_raw_bytes_and_sidecars_apart(
    local: tuple[LocalObjectStore, Path],
) -> None:
    store, root = local
    await store.put_bytes("a/b.txt", b"raw bytes", "text/plain")

    assert (root / "objects" / "a" / "b.txt").read_bytes() == b"raw bytes"
    sidecar = json.loads((root / "meta" / "a" / "b.txt").read_text())
    assert sidecar == {"content_type": "text/plain"}
    assert os.listdir(root / "tmp") == []
    assert [i.key for i in await store.list()] == ["a/b.txt"]


async def test_planted_directory_symlink_is_never_followed(
    local: tuple[LocalObjectStore, Path], outside: Path
) -> None:
    store, root = local
    (root / "objects" / "evil").symlink_to(outside, target_is_directory=True)
    (root / "objects" / "deep").mkdir()
    (root / "objects" / "deep" / "link").symlink_to(outside, target_is_directory=True)

    for key in ("evil/secret.txt", "deep/link/secret.txt"):
        with pytest.raises(ObjectNotFound):
            await store.get_bytes(key)
        with pytest.raises(ObjectNotFound):
            await store.stat(key)
        with pytest.raises(ObjectNotFound):
            await store.iter_chunks(key).__anext__()
        assert not await store.exists(key)
        await store.delete(key)
    assert await store.list() == []
    assert await store.delete_prefix("evil/") == 0
    assert await store.delete_prefix("deep/") == 0
    with pytest.raises(InvalidObjectKey):
        await store.put_bytes("evil/planted.txt", b"x")
    with pytest.raises(InvalidObjectKey):
        await store.put_bytes("deep/link/planted.txt", b"x")

    assert files_under(outside) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"top secret"
    assert os.listdir(root / "tmp") == []


async def test_planted_file_symlink_is_never_followed(
    local: tuple[LocalObjectStore, Path], outside: Path
) -> None:
    store, root = local
    (root / "objects" / "leak").symlink_to(outside / "secret.txt")

    with pytest.raises(ObjectNotFound):
        await store.get_bytes("leak")
    assert await store.list() == []

    # Writing replaces the link itself (rename does not follow it) ...
    await store.put_bytes("leak", b"ours")
    assert await store.get_bytes("leak") == b"ours"
    assert not (root / "objects" / "leak").is_symlink()
    # ... and deleting removes our file, never the target.
    await store.delete("leak")
    assert (outside / "secret.txt").read_bytes() == b"top secret"


async def test_planted_sidecar_symlink_is_never_followed(
    local: tuple[LocalObjectStore, Path], outside: Path
) -> None:
    store, root = local
    await store.put_bytes("m/x", b"1", "text/plain")
    sidecar = root / "meta" / "m" / "x"
    sidecar.unlink()
    sidecar.symlink_to(outside / "secret.txt")

    assert (await store.stat("m/x")).content_type == "application/octet-stream"
    await store.put_bytes("m/x", b"2", "text/csv")
    assert (await store.stat("m/x")).content_type == "text/csv"
    assert (outside / "secret.txt").read_bytes() == b"top secret"


async def test_root_may_itself_be_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    store = create_object_store(LocalStorageConfig(root=tmp_path / "alias"))
    await store.ensure_ready()

    await store.put_bytes("k", b"v")
    assert (real / "objects" / "k").read_bytes() == b"v"


async def test_delete_prunes_empty_parents_only(local: tuple[LocalObjectStore, Path]) -> None:
    store, root = local
    await store.put_bytes("x/y/z.txt", b"1", "text/plain")
    await store.put_bytes("x/keep.txt", b"2")

    await store.delete("x/y/z.txt")
    for area in ("objects", "meta"):
        assert not (root / area / "x" / "y").exists()
        assert (root / area / "x").is_dir()

    await store.delete("x/keep.txt")
    for area in ("objects", "meta"):
        assert os.listdir(root / area) == []  # the area itself stays


async def test_delete_prefix_prunes_folders(local: tuple[LocalObjectStore, Path]) -> None:
    store, root = local
    for key in ("run/1/a", "run/1/b/c", "run/2/d"):
        await store.put_bytes(key, b".")

    assert await store.delete_prefix("run/1/") == 2
    assert files_under(root / "objects") == ["run/2/d"]
    assert files_under(root / "meta") == ["run/2/d"]


async def test_file_and_folder_with_one_name_conflict(local: tuple[LocalObjectStore, Path]) -> None:
    # S3 allows "a" and "a/b" side by side; a folder cannot, so this is refused
    # with a clear error rather than half-written.
    store, root = local
    await store.put_bytes("a", b"file")
    with pytest.raises(InvalidObjectKey, match="in the way"):
        await store.put_bytes("a/b", b"nested")
    await store.put_bytes("d/e", b"nested")
    with pytest.raises(InvalidObjectKey, match="in the way"):
        await store.put_bytes("d", b"file")

    assert [i.key for i in await store.list()] == ["a", "d/e"]
    assert os.listdir(root / "tmp") == []
    await store.delete("d")  # a folder is not an object: nothing happens
    assert await store.get_bytes("d/e") == b"nested"


async def test_names_that_are_not_keys_are_not_listed(local: tuple[LocalObjectStore, Path]) -> None:
    store, root = local
    (root / "objects" / "back\\slash").write_bytes(b"by hand")
    (root / "objects" / "fifo").mkdir()
    os.mkfifo(root / "objects" / "fifo" / "pipe")
    await store.put_bytes("real", b"ok")

    assert [i.key for i in await store.list()] == ["real"]
    with pytest.raises(ObjectNotFound):
        await store.get_bytes("fifo/pipe")  # must not hang opening a FIFO


async def test_missing_sidecar_means_default_type(local: tuple[LocalObjectStore, Path]) -> None:
    store, root = local
    await store.put_bytes("t", b"x", "image/png")
    (root / "meta" / "t").unlink()
    assert (await store.stat("t")).content_type == "application/octet-stream"
    (root / "meta" / "t").write_text("not json")
    assert (await store.list())[0].content_type == "application/octet-stream"


async def test_ensure_ready_removes_only_stale_temp_files(
    local: tuple[LocalObjectStore, Path],
) -> None:
    store, root = local
    stale = root / "tmp" / "old.tmp"
    fresh = root / "tmp" / "new.tmp"
    stale.write_bytes(b"crashed writer")
    fresh.write_bytes(b"live writer")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(stale, (two_days_ago, two_days_ago))

    await store.ensure_ready()
    assert os.listdir(root / "tmp") == ["new.tmp"]


async def test_unprepared_or_unusable_root_is_unavailable(tmp_path: Path) -> None:
    store = create_object_store(LocalStorageConfig(root=tmp_path / "never-prepared"))
    with pytest.raises(StorageUnavailable, match="ensure_ready"):
        await store.put_bytes("k", b"v")

    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(StorageUnavailable):
        await create_object_store(LocalStorageConfig(root=blocker)).ensure_ready()


async def test_unwritable_root_is_unavailable() -> None:
    # /proc refuses new directories to everyone, root included (these tests
    # run as root, who ignores permission bits).
    root = Path("/proc/scriptbox-test-store")
    with pytest.raises(StorageUnavailable):
        await create_object_store(LocalStorageConfig(root=root)).ensure_ready()


async def test_reader_keeps_the_version_it_opened(local: tuple[LocalObjectStore, Path]) -> None:
    store, _ = local
    await store.put_bytes("v", b"1" * 300_000)
    chunks = store.iter_chunks("v", chunk_size=100_000)
    first = await chunks.__anext__()
    await store.put_bytes("v", b"2" * 10)  # atomic replace under the reader

    rest = [chunk async for chunk in chunks]
    assert first + b"".join(rest) == b"1" * 300_000
    assert await store.get_bytes("v") == b"2" * 10


# More folders than the listing process may hold descriptors: every script
# has a folder of its own under its owner's, so a tree this wide is common.
WIDE_FOLDERS = 1_000
WIDE_TREE = f"""
import asyncio, resource, sys
from pathlib import Path
from storage import LocalStorageConfig, create_object_store

async def main():
    store = create_object_store(LocalStorageConfig(root=Path(sys.argv[1])))
    await store.ensure_ready()
    for i in range({WIDE_FOLDERS}):
        await store.put_bytes(f"scripts/owner/{{i:05d}}/1", b"x")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    listed = await store.list("scripts/")
    deleted = await store.delete_prefix("scripts/owner/")
    print(len(listed), deleted)

asyncio.run(main())
"""


def test_a_tree_wider_than_the_descriptor_limit_is_listed_and_deleted(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WIDE_TREE, str(tmp_path / "store")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(WIDE_FOLDERS), str(WIDE_FOLDERS)]
