"""Fixtures shared by the whole suite: real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvloop
from moto.server import ThreadedMotoServer

from tests.support.client import GraphQLClient, registered
from tests.support.postgres import fresh_postgres_database
from tests.support.servers import Service, free_port, running_service, test_settings
from tests.support.volumes import volume_namespace


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every test and async fixture runs on uvloop, the loop `scriptbox serve`
    runs on (graphql_api/serving.py): the in-process service must fail where
    the served one does."""
    return {"uvloop": uvloop.new_event_loop}


@dataclass(frozen=True)
class S3Endpoint:
    endpoint: str
    access_key: str
    secret_key: str
    secure: bool


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """A real MinIO when SCRIPTBOX_TEST_S3_ENDPOINT names one, else moto's
    S3-compatible server on 127.0.0.1."""
    if os.environ.get("SCRIPTBOX_TEST_S3_ENDPOINT"):
        yield S3Endpoint(
            endpoint=os.environ["SCRIPTBOX_TEST_S3_ENDPOINT"],
            access_key=os.environ.get("SCRIPTBOX_TEST_S3_ACCESS_KEY", ""),
            secret_key=os.environ.get("SCRIPTBOX_TEST_S3_SECRET_KEY", ""),
            secure=os.environ.get("SCRIPTBOX_TEST_S3_SECURE", "") in ("1", "true"),
        )
        return
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Endpoint(f"127.0.0.1:{port}", "testing", "testing", False)
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["local", "s3", "postgres"])
async def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    """The service over HTTP: SQLite with each storage backend, and PostgreSQL."""
    data_dir = tmp_path_factory.mktemp(f"service-{request.param}")
    with volume_namespace(request.param):
        async for running in _service(request, data_dir):
            yield running


async def _service(request: pytest.FixtureRequest, data_dir: Path) -> AsyncIterator[Service]:
    overrides: dict[str, object] = {}
    if request.param == "postgres":
        async with (
            fresh_postgres_database() as url,
            running_service(test_settings(data_dir, database_url=url)) as running,
        ):
            yield running
        return
    if request.param == "s3":
        s3: S3Endpoint = request.getfixturevalue("s3_endpoint")
        overrides = {
            "storage_backend": "s3",
            "s3_endpoint": s3.endpoint,
            "s3_access_key": s3.access_key,
            "s3_secret_key": s3.secret_key,
            "s3_secure": s3.secure,
            "s3_bucket": f"scriptbox-{data_dir.name.lower().replace('_', '-')}",
        }
    settings = test_settings(data_dir, **overrides)
    async with running_service(settings) as running:
        yield running


@pytest.fixture
def service_url(service: Service) -> str:
    return service.url


@pytest.fixture
async def anon(service_url: str) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=60) as http:
        yield GraphQLClient(service_url, None, http)


@pytest.fixture
async def alice(anon: GraphQLClient) -> GraphQLClient:
    return await registered(anon, "alice")


@pytest.fixture
async def bob(anon: GraphQLClient) -> GraphQLClient:
    return await registered(anon, "bob")
