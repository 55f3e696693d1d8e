"""Behaviour every ObjectStore must have, run against each backend."""

from __future__ import annotations

import asyncio
import hashlib
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from storage import (
    InvalidObjectKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    ObjectTooLarge,
)
from tests.support.deadlines import eventually
from tests.support.store_case import StoreCase

MiB = 1024 * 1024


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def stream_then_stop(
    case: StoreCase, good_bytes: int, *, fail: bool, extra_bytes: int = 0
) -> AsyncIterator[bytes]:
    """Send good_bytes; once past one S3 part, wait until the backend visibly
    holds an unfinished upload (so its abort path is what gets tested); then
    raise, or go on with extra_bytes."""
    for _ in range(good_bytes // MiB):
        yield b"x" * MiB
    if good_bytes > 5 * MiB:
        await wait_for_unfinished_upload(case)
    if fail:
        raise RuntimeError("client went away")
    for _ in range(extra_bytes // MiB):
        yield b"y" * MiB


async def wait_for_unfinished_upload(case: StoreCase) -> None:
    await eventually(case.leftovers, "the backend showed an upload in progress", every=0.02)


async def assert_nothing_left(case: StoreCase, key: str) -> None:
    assert not await case.store.exists(key)
    assert [info.key for info in await case.store.list()] == []
    assert await case.leftovers() == []


async def test_round_trip_keeps_bytes_and_content_type(object_store: ObjectStore) -> None:
    info = await object_store.put_bytes("docs/hello.txt", b"hello world", "text/plain")

    assert info.key == "docs/hello.txt"
    assert info.size == 11
    assert info.content_type == "text/plain"
    assert await object_store.get_bytes("docs/hello.txt") == b"hello world"
    stat = await object_store.stat("docs/hello.txt")
    assert (stat.key, stat.size, stat.content_type) == ("docs/hello.txt", 11, "text/plain")


async def test_default_content_type_and_empty_object(object_store: ObjectStore) -> None:
    await object_store.put_bytes("empty", b"")
    await object_store.put_stream("empty-stream", chunks_of(b"", 1))

    for key in ("empty", "empty-stream"):
        info = await object_store.stat(key)
        assert (info.size, info.content_type) == (0, "application/octet-stream")
        assert await object_store.get_bytes(key) == b""
        assert [chunk async for chunk in object_store.iter_chunks(key)] == []


async def test_overwrite_replaces_bytes_and_type(object_store: ObjectStore) -> None:
    await object_store.put_bytes("a.bin", b"first", "text/plain")
    await object_store.put_bytes("a.bin", b"second version", "application/json")

    assert await object_store.get_bytes("a.bin") == b"second version"
    info = await object_store.stat("a.bin")
    assert (info.size, info.content_type) == (14, "application/json")
    assert [i.key for i in await object_store.list()] == ["a.bin"]


async def test_stat_and_exists(object_store: ObjectStore) -> None:
    before = datetime.now(UTC)
    await object_store.put_bytes("s/t.txt", b"12345", "text/csv")

    info = await object_store.stat("s/t.txt")
    assert isinstance(info, ObjectInfo)
    assert info.last_modified.tzinfo is not None
    assert info.last_modified.utcoffset() == timedelta(0)
    # Generous: S3 has second precision and a real server its own clock.
    assert abs(info.last_modified - before) < timedelta(minutes=10)
    assert await object_store.exists("s/t.txt")
    assert not await object_store.exists("s/other.txt")
    assert not await object_store.exists("s")  # a folder is not an object


async def test_missing_key_errors(object_store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        await object_store.get_bytes("no/such/key")
    with pytest.raises(ObjectNotFound):
        await object_store.stat("no/such/key")
    chunks = object_store.iter_chunks("no/such/key")  # may only fail when iterated
    with pytest.raises(ObjectNotFound):
        await chunks.__anext__()


async def test_list_by_prefix_is_sorted_and_recursive(object_store: ObjectStore) -> None:
    keys = ["b/1", "a/2/y", "ab", "a/10", "a/2/x", "a/1", "a/.hidden", "a/..dots"]
    for key in keys:
        await object_store.put_bytes(key, key.encode(), "text/plain")

    everything = await object_store.list()
    assert [i.key for i in everything] == sorted(keys)
    assert all(i.content_type == "text/plain" for i in everything)
    assert {i.key: i.size for i in everything} == {k: len(k) for k in keys}
    assert [i.key for i in await object_store.list("a/")] == sorted(
        ["a/1", "a/10", "a/2/x", "a/2/y", "a/.hidden", "a/..dots"]
    )
    assert [i.key for i in await object_store.list("a")] == sorted(
        ["a/1", "a/10", "a/2/x", "a/2/y", "a/.hidden", "a/..dots", "ab"]
    )
    assert [i.key for i in await object_store.list("a/1")] == ["a/1", "a/10"]
    assert [i.key for i in await object_store.list("a/2/")] == ["a/2/x", "a/2/y"]
    assert [i.key for i in await object_store.list("a/.")] == ["a/..dots", "a/.hidden"]
    assert await object_store.list("zzz") == []
    assert await object_store.list("zzz/") == []


async def test_unusual_but_valid_keys(object_store: ObjectStore) -> None:
    keys = ["ünï/cødé файл.txt", "sp ace/plus+eq=amp&q?.txt", "...", "a/b/c/d/e/f/g/h", "~x"]
    for key in keys:
        await object_store.put_bytes(key, key.encode())
    assert [i.key for i in await object_store.list()] == sorted(keys)
    for key in keys:
        assert await object_store.get_bytes(key) == key.encode()


async def test_delete_is_idempotent(object_store: ObjectStore) -> None:
    await object_store.put_bytes("d/1", b"1")
    await object_store.put_bytes("d/2", b"2")

    await object_store.delete("d/1")
    await object_store.delete("d/1")
    await object_store.delete("never/existed")
    assert [i.key for i in await object_store.list()] == ["d/2"]

    await object_store.delete("d/2")
    assert await object_store.list() == []


async def test_delete_prefix_spans_batches(object_store: ObjectStore) -> None:
    # S3 deletes at most 1000 keys per request.
    keys = [f"many/{n:04d}" for n in range(1001)]
    limit = asyncio.Semaphore(32)

    async def put(key: str) -> None:
        async with limit:
            await object_store.put_bytes(key, b"")

    await asyncio.gather(*(put(key) for key in keys))
    await object_store.put_bytes("keep", b"k")

    assert await object_store.delete_prefix("many/") == len(keys)
    assert [i.key for i in await object_store.list()] == ["keep"]


async def test_delete_prefix_counts_and_spares_others(object_store: ObjectStore) -> None:
    for key in ["p/1", "p/q/2", "p/q/r/3", "pp/4", "x/5"]:
        await object_store.put_bytes(key, b".")

    assert await object_store.delete_prefix("p/") == 3
    assert [i.key for i in await object_store.list()] == ["pp/4", "x/5"]
    assert await object_store.delete_prefix("p/") == 0
    assert await object_store.delete_prefix("nothing/") == 0
    with pytest.raises(InvalidObjectKey):
        await object_store.delete_prefix("")  # would wipe everything
    assert len(await object_store.list()) == 2


async def test_put_stream_large_object(object_store: ObjectStore) -> None:
    data = b"".join(hashlib.sha256(n.to_bytes(4, "big")).digest() for n in range(12 * MiB // 32))
    assert len(data) == 12 * MiB

    info = await object_store.put_stream("big/file.bin", chunks_of(data, MiB), "video/mp4")

    assert (info.size, info.content_type) == (12 * MiB, "video/mp4")
    assert (await object_store.stat("big/file.bin")).size == 12 * MiB
    digest = hashlib.sha256()
    async for chunk in object_store.iter_chunks("big/file.bin"):
        assert 0 < len(chunk) <= 64 * 1024
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


async def test_put_stream_mixed_chunk_sizes(object_store: ObjectStore) -> None:
    pieces = [b"a" * 7, b"", b"b" * (5 * MiB + 3), b"c" * 1, b"d" * (MiB - 1)]

    async def gen() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    info = await object_store.put_stream("mixed", gen(), max_bytes=sum(map(len, pieces)))
    assert info.size == sum(map(len, pieces))
    assert await object_store.get_bytes("mixed") == b"".join(pieces)


@pytest.mark.parametrize("good", [2 * MiB, 7 * MiB], ids=["one-part", "multipart"])
async def test_put_stream_over_limit_leaves_nothing(store_case: StoreCase, good: int) -> None:
    source = stream_then_stop(store_case, good, fail=False, extra_bytes=2 * MiB)
    with pytest.raises(ObjectTooLarge):
        await store_case.store.put_stream("too/big", source, max_bytes=good + 5)
    await assert_nothing_left(store_case, "too/big")


async def test_put_stream_exactly_at_limit_is_fine(object_store: ObjectStore) -> None:
    info = await object_store.put_stream("at/limit", chunks_of(b"q" * 1000, 100), max_bytes=1000)
    assert info.size == 1000


@pytest.mark.parametrize("good", [2 * MiB, 11 * MiB], ids=["one-part", "multipart"])
async def test_put_stream_failing_source_leaves_nothing(store_case: StoreCase, good: int) -> None:
    with pytest.raises(RuntimeError, match="client went away"):
        await store_case.store.put_stream("broken", stream_then_stop(store_case, good, fail=True))
    await assert_nothing_left(store_case, "broken")


async def test_failed_put_stream_keeps_previous_version(store_case: StoreCase) -> None:
    store = store_case.store
    await store.put_bytes("doc", b"version one", "text/plain")

    with pytest.raises(RuntimeError):
        await store.put_stream("doc", stream_then_stop(store_case, 6 * MiB, fail=True), "text/html")
    with pytest.raises(ObjectTooLarge):
        await store.put_stream("doc", chunks_of(b"y" * 100, 10), "text/html", max_bytes=50)

    assert await store.get_bytes("doc") == b"version one"
    assert (await store.stat("doc")).content_type == "text/plain"
    assert await store_case.leftovers() == []


async def test_cancelled_put_stream_leaves_nothing(store_case: StoreCase) -> None:
    started = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"w" * MiB
            started.set()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(store_case.store.put_stream("cancelled", endless()))
    await started.wait()
    await wait_for_unfinished_upload(store_case)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_nothing_left(store_case, "cancelled")


async def test_abandoned_download_releases_resources(object_store: ObjectStore) -> None:
    await object_store.put_bytes("dl", b"0123456789" * 100_000)

    for _ in range(20):  # more than any connection pool or fd budget would hide
        chunks = object_store.iter_chunks("dl", chunk_size=1000)
        assert await chunks.__anext__() == b"0123456789" * 100
        await chunks.aclose()  # type: ignore[attr-defined]

    assert await object_store.get_bytes("dl") == b"0123456789" * 100_000


async def test_many_concurrent_streams_do_not_starve_threads(object_store: ObjectStore) -> None:
    # More uploads than the default thread pool has threads, each fed by a
    # source that itself needs a thread: a design that parks one default-pool
    # thread per upload would deadlock here.
    async def source(n: int) -> AsyncIterator[bytes]:
        for _ in range(3):
            yield await asyncio.to_thread(bytes, [n % 256]) * 1000
            await asyncio.sleep(0.01)

    async def upload(n: int) -> None:
        await object_store.put_stream(f"c/{n:02d}", source(n), "text/plain")

    await asyncio.wait_for(asyncio.gather(*(upload(n) for n in range(40))), timeout=60)
    listed = await object_store.list("c/")
    assert [i.size for i in listed] == [3000] * 40


async def test_concurrent_writers_keep_bytes_and_type_together(object_store: ObjectStore) -> None:
    await asyncio.gather(
        *(object_store.put_bytes("race", f"v{n}".encode(), f"text/x-{n}") for n in range(20))
    )
    data = await object_store.get_bytes("race")
    assert (await object_store.stat("race")).content_type == f"text/x-{data.decode()[1:]}"


BAD_KEYS = [
    "",
    "/abs",
    "trailing/",
    "a//b",
    ".",
    "..",
    "a/./b",
    "a/../b",
    "../escape",
    "a/..",
    "back\\slash",
    "nul\x00byte",
    "new\nline",
    "tab\tchar",
    "del\x7f",
    "c1\x85control",
    "x" * 1025,
    "é" * 513,  # 1026 bytes in UTF-8
    "s" * 256,  # one segment over NAME_MAX
    "\ud800",  # lone surrogate
]


@pytest.mark.parametrize("key", BAD_KEYS, ids=[repr(k)[:20] for k in BAD_KEYS])
async def test_invalid_keys_are_rejected_everywhere(object_store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        await object_store.put_bytes(key, b"x")
    with pytest.raises(InvalidObjectKey):
        await object_store.put_stream(key, chunks_of(b"x", 1))
    with pytest.raises(InvalidObjectKey):
        await object_store.get_bytes(key)
    with pytest.raises(InvalidObjectKey):
        object_store.iter_chunks(key)
    with pytest.raises(InvalidObjectKey):
        await object_store.stat(key)
    with pytest.raises(InvalidObjectKey):
        await object_store.exists(key)
    with pytest.raises(InvalidObjectKey):
        await object_store.delete(key)
    with pytest.raises(InvalidObjectKey):
        await object_store.presigned_get_url(key, timedelta(minutes=1))
    assert await object_store.list() == []


@pytest.mark.parametrize("prefix", ["/a", "a//b/", "../", "a/../", "a\\", "a\x00"])
async def test_invalid_prefixes_are_rejected(object_store: ObjectStore, prefix: str) -> None:
    with pytest.raises(InvalidObjectKey):
        await object_store.list(prefix)
    with pytest.raises(InvalidObjectKey):
        await object_store.delete_prefix(prefix)


async def test_bad_content_type_is_rejected(object_store: ObjectStore) -> None:
    with pytest.raises(ValueError):
        await object_store.put_bytes("ct", b"x", "text/plain\r\nX-Injected: 1")
    assert not await object_store.exists("ct")


async def test_presigned_url(store_case: StoreCase) -> None:
    store = store_case.store
    await store.put_bytes("reports/r1.csv", b"a,b\n1,2\n", "text/csv")

    url = await store.presigned_get_url(
        "reports/r1.csv", timedelta(minutes=5), download_name='Répört "1".csv'
    )

    if store_case.kind == "local":
        assert url is None
        return
    assert url is not None

    def fetch() -> tuple[bytes, str]:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read(), response.headers.get("Content-Disposition", "")

    body, disposition = await asyncio.to_thread(fetch)
    assert body == b"a,b\n1,2\n"
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''R%C3%A9p%C3%B6rt%20%221%22.csv" in disposition
    with pytest.raises(ValueError):
        await store.presigned_get_url("reports/r1.csv", timedelta(days=8))


async def test_ensure_ready_is_idempotent(object_store: ObjectStore) -> None:
    await object_store.put_bytes("k", b"v")
    await object_store.ensure_ready()
    await object_store.ensure_ready()
    assert await object_store.get_bytes("k") == b"v"
