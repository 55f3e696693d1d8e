"""S3 specifics: endpoint parsing, failing fast, mapping server errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from storage import S3StorageConfig, StorageUnavailable, create_object_store
from storage.s3 import S3ObjectStore, _parse_endpoint, _part_size
from tests.support.deadlines import HANG_SECONDS

MiB = 1024 * 1024


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unreachable_store() -> S3ObjectStore:
    config = S3StorageConfig(f"127.0.0.1:{closed_port()}", "key", "secret", "bucket")
    store = create_object_store(config)
    assert isinstance(store, S3ObjectStore)
    return store


@pytest.mark.parametrize(
    ("endpoint", "secure", "expected"),
    [
        ("minio:9000", False, ("minio:9000", False)),
        ("minio:9000", True, ("minio:9000", True)),
        ("http://minio:9000", True, ("minio:9000", False)),
        ("https://s3.example.com", False, ("s3.example.com", True)),
        ("http://127.0.0.1:9000/", False, ("127.0.0.1:9000", False)),
    ],
)
def test_endpoint_forms(endpoint: str, secure: bool, expected: tuple[str, bool]) -> None:
    assert _parse_endpoint(endpoint, secure) == expected


@pytest.mark.parametrize("endpoint", ["ftp://host:21", "http://host:9000/path", "http://"])
def test_bad_endpoints(endpoint: str) -> None:
    with pytest.raises(ValueError):
        _parse_endpoint(endpoint, False)


def test_part_size_fits_limit_in_ten_thousand_parts() -> None:
    assert _part_size(None) == 5 * MiB
    assert _part_size(100 * MiB) == 5 * MiB
    assert _part_size(100_000 * MiB) == 10 * MiB
    assert _part_size(100_000 * MiB) * 10_000 >= 100_000 * MiB


async def test_unreachable_endpoint_fails_rather_than_hangs() -> None:
    store = unreachable_store()
    # A deadline that only guards against retrying forever, not a speed bound.
    async with asyncio.timeout(HANG_SECONDS):
        with pytest.raises(StorageUnavailable, match="unreachable"):
            await store.ensure_ready()
        with pytest.raises(StorageUnavailable):
            await store.get_bytes("k")
        with pytest.raises(StorageUnavailable):
            await store.list()
    await store.close()


async def test_stream_to_unreachable_endpoint_stops_reading_the_source() -> None:
    store = unreachable_store()
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        while True:
            sent += MiB
            yield b"e" * MiB

    with pytest.raises(StorageUnavailable):
        await store.put_stream("k", endless())
    # One part plus what the pipe buffers: the upload failure stops the feed.
    assert sent < 20 * MiB
    await store.close()


async def test_missing_bucket_is_unavailable_not_not_found(moto_endpoint: str) -> None:
    config = S3StorageConfig(moto_endpoint, "testing", "testing", "no-such-bucket-here")
    store = create_object_store(config)  # ensure_ready() deliberately not called
    with pytest.raises(StorageUnavailable, match="bucket does not exist"):
        await store.put_bytes("k", b"v")
    with pytest.raises(StorageUnavailable):
        await store.get_bytes("k")
    with pytest.raises(StorageUnavailable):
        await store.stat("k")
    await store.close()
