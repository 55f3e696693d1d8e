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


# The one SCRIPTBOX_* variable of the shell the tests keep: the sandbox
# image under test, so a development build of the runner (tagged beside the
# :latest other sessions use) is the one the tests' services run.
IMAGE_UNDER_TEST = "SCRIPTBOX_SANDBOX_IMAGE"


def shell_variables() -> dict[str, str]:
    """The shell's environment without its SCRIPTBOX_* variables (but the
    image under test)."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SCRIPTBOX_") or k == IMAGE_UNDER_TEST
    }


def clean_settings() -> Settings:
    """The documented defaults: a stray SCRIPTBOX_* variable in the shell that
    runs the tests (say, from `make run` in another terminal) must not change
    what the tests prove."""
    clean = shell_variables()
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
    port = free_port()
    app = build_api_app(settings)
    config = uvicorn_config(TagRequests(app), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the service stopped during start-up")
        await asyncio.sleep(0.02)
    try:
        yield Service(f"http://127.0.0.1:{port}", settings, app.state.process)
    finally:
        server.should_exit = True
        await task
