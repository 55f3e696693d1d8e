"""Fixtures: one `object_store` per backend, so every behaviour is tested once.

Backends: the local folder (tmp dir), S3 on moto's threaded server on
127.0.0.1 (started once per session), and a real MinIO when
SCRIPTBOX_TEST_S3_ENDPOINT names one (that case is not generated otherwise).
Each S3 test gets its own bucket, removed afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage import (
    LocalStorageConfig,
    ObjectStore,
    S3StorageConfig,
    create_object_store,
)
from tests.support.store_case import StoreCase

MOTO_ACCESS_KEY = "testing"
MOTO_SECRET_KEY = "testing"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    # werkzeug logs every request; the test output should not.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _real_minio_config(bucket: str) -> S3StorageConfig | None:
    endpoint = os.environ.get("SCRIPTBOX_TEST_S3_ENDPOINT")
    if not endpoint:
        return None
    return S3StorageConfig(
        endpoint=endpoint,
        access_key=os.environ.get("SCRIPTBOX_TEST_S3_ACCESS_KEY", ""),
        secret_key=os.environ.get("SCRIPTBOX_TEST_S3_SECRET_KEY", ""),
        bucket=bucket,
        secure=os.environ.get("SCRIPTBOX_TEST_S3_SECURE", "").lower() in ("1", "true", "yes"),
    )


# The real-MinIO case exists only when an endpoint is configured, so runs
# without one show no skipped tests.
STORE_CASES = ["local", "moto"] + (
    ["minio"] if os.environ.get("SCRIPTBOX_TEST_S3_ENDPOINT") else []
)


@pytest.fixture(params=STORE_CASES)
async def store_case(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreCase]:
    if request.param == "local":
        root = tmp_path / "store"
        store = create_object_store(LocalStorageConfig(root=root))
        await store.ensure_ready()

        async def temp_files() -> list[str]:
            return sorted(os.listdir(root / "tmp"))

        yield StoreCase("local", store, temp_files, local_root=root)
        await store.close()
        return

    bucket = f"sbx-test-{uuid.uuid4().hex[:12]}"
    if request.param == "moto":
        endpoint = request.getfixturevalue("moto_endpoint")
        config = S3StorageConfig(endpoint, MOTO_ACCESS_KEY, MOTO_SECRET_KEY, bucket)
    else:
        real = _real_minio_config(bucket)
        assert real is not None
        config = real
    store = create_object_store(config)
    await store.ensure_ready()

    async def unfinished_uploads() -> list[str]:
        import asyncio

        return await asyncio.to_thread(_unfinished_uploads, config)

    try:
        yield StoreCase("s3", store, unfinished_uploads, s3_config=config)
    finally:
        await store.close()
        _drop_bucket(config)


@pytest.fixture
def object_store(store_case: StoreCase) -> ObjectStore:
    return store_case.store


def _boto(config: S3StorageConfig):  # type: ignore[no-untyped-def]
    import boto3

    scheme = "https" if config.secure else "http"
    endpoint = config.endpoint if "://" in config.endpoint else f"{scheme}://{config.endpoint}"
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        region_name=config.region or "us-east-1",
    )


def _unfinished_uploads(config: S3StorageConfig) -> list[str]:
    answer = _boto(config).list_multipart_uploads(Bucket=config.bucket)
    return sorted(upload["Key"] for upload in answer.get("Uploads", []))


def _drop_bucket(config: S3StorageConfig) -> None:
    client = _boto(config)
    for upload in client.list_multipart_uploads(Bucket=config.bucket).get("Uploads", []):
        client.abort_multipart_upload(
            Bucket=config.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
        )
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=config.bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=config.bucket, Delete={"Objects": keys})
    client.delete_bucket(Bucket=config.bucket)
