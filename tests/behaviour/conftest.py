"""Fixtures for the behaviour tests: an admin beside the suite's users, and
a service of a test's own where a setting must differ from the suite's."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.support.client import PASSWORD, GraphQLClient, unique_username
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.servers import Service

LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { accessToken user { id username isAdmin } }
}
"""


@pytest.fixture
async def admin(service: Service, anon: GraphQLClient) -> GraphQLClient:
    """An admin, made as an operator makes one (`scriptbox create-user
    --admin` calls the same accounts service), then logged in over GraphQL."""
    username = unique_username("admin")
    await service.services.accounts.create_user(username, PASSWORD, is_admin=True)
    data = (await anon.data(LOGIN, {"u": username, "p": PASSWORD}))["login"]
    assert data["user"]["isAdmin"] is True
    return anon.with_token(data["accessToken"])


@asynccontextmanager
async def own_service(data_dir: Path, **settings: str) -> AsyncIterator[ServiceProcess]:
    """`scriptbox serve` of the test's own (SQLite, local storage unless
    `settings` say otherwise), as a child process: only one in-process
    service may hold the ORM at a time, and the suite's holds it."""
    env = cli_environment(
        data_dir,
        SCRIPTBOX_WARM_POOL_SIZE="1",
        SCRIPTBOX_WORKER_NAME=f"behaviour-{data_dir.name}-{os.getpid()}",
        **settings,
    )
    process = ServiceProcess(env)
    try:
        await asyncio.to_thread(process.start)
        yield process
    finally:
        await asyncio.to_thread(process.stop)
