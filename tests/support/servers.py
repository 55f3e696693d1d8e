"""Real servers for tests, all on 127.0.0.1: the Scriptbox service run by
uvicorn in this process, and an S3-compatible endpoint (moto)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from unittest import mock

import uvicorn
from starlette.types import ASGIApp

from core.settings import Settings
from graphql_api.serving import uvicorn_config
from harness.sql_counter import TagRequests
from roles.api import ApiProcess, build_api_app
from tests.support.owners import owned_name
from tests.support.package_index import refuse_remote_index, suite_index
from tests.support.volumes import PROCESSES_NAMESPACE


@dataclass(frozen=True)
class Service:
    url: str
    settings: Settings
    # In-process parts, for what no client can do: driving the scheduler's clock.
    process: ApiProcess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Which sandbox image the services under test use: a development build of
# the image (scripts/build-sandbox-image.sh with SCRIPTBOX_IMAGE_REPO) is
# tested by naming it here, without retagging the image others use.
TEST_PASSES_THROUGH = frozenset({"SCRIPTBOX_SANDBOX_IMAGE"})


def kept_for_tests(name: str) -> bool:
    return not name.startswith("SCRIPTBOX_") or name in TEST_PASSES_THROUGH


def clean_settings() -> Settings:
    """The documented defaults: a stray SCRIPTBOX_* variable in the shell that
    runs the tests (say, from `make run` in another terminal) must not change
    what the tests prove."""
    clean = {k: v for k, v in os.environ.items() if kept_for_tests(k)}
    with mock.patch.dict(os.environ, clean, clear=True):
        return Settings.from_env()


def test_settings(data_dir: Path, **overrides: object) -> Settings:
    """A service's settings in `data_dir`: the documented defaults, but
    nothing leaves the machine (the suite's package index, not pip's)."""
    base = clean_settings()
    settings = replace(
        base,
        data_dir=data_dir,
        database_url=os.environ.get("SCRIPTBOX_TEST_DATABASE_URL")
        or f"sqlite://{data_dir / 'scriptbox.sqlite3'}",
        storage_dir=data_dir / "objects",
        jwt_secret=None,
        host="127.0.0.1",
        # Unique per service: recovery reaps containers by worker name.
        worker_name=owned_name(f"test-{data_dir.name}"),
        warm_pool_size=2,
        # Never the product's namespace: the run's leftovers check covers this one.
        deps_namespace=PROCESSES_NAMESPACE,
        deps_index_url=suite_index().url,
    )
    settings = replace(settings, **overrides)  # type: ignore[arg-type]
    refuse_remote_index(settings.deps_index_url)
    return settings


@asynccontextmanager
async def running_service(settings: Settings) -> AsyncIterator[Service]:
    """Serve the app on a free 127.0.0.1 port, configured as `scriptbox serve`
    configures it (the loop is the test's, which conftest makes uvloop)."""
    app = build_api_app(settings)
    async with serving_app(TagRequests(app)) as url:
        yield Service(url, settings, app.state.process)


@asynccontextmanager
async def serving_app(app: ASGIApp) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free 127.0.0.1 port: its base URL."""
    port = free_port()
    config = uvicorn_config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the service stopped during start-up")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
