"""The process users run: `scriptbox serve` started as `make run` starts it
(the installed console script, uvloop, the CLI's uvicorn configuration), on a
free 127.0.0.1 port with a temp data dir; and the scale-out shape: `scriptbox
serve` with no embedded worker plus a `scriptbox worker`, on PostgreSQL and
Redis (`make services`). One set of processes per test module and shape."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest

from harness.postgres import fresh_postgres_database
from tests.support.client import GraphQLClient, registered
from tests.support.owners import owned_name
from tests.support.processes import ServiceProcess, cli_environment

EMBEDDED = "embedded"
SCALE_OUT = "scale-out"


@dataclass(frozen=True)
class Served:
    shape: str
    url: str
    processes: tuple[ServiceProcess, ...]

    def logs(self) -> str:
        return "\n".join(f"--- {p.command} ---\n{p.output()}" for p in self.processes)


def _stopped(stack: ExitStack, process: ServiceProcess) -> ServiceProcess:
    stack.callback(process.stop)
    return process


@pytest.fixture(scope="module", params=[EMBEDDED, SCALE_OUT])
async def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    data_dir = tmp_path_factory.mktemp(f"served-{request.param}")
    # Unique names: recovery reaps containers by the worker's name.
    name = f"served-{data_dir.name}"
    common = {"SCRIPTBOX_WARM_POOL_SIZE": "1", "SCRIPTBOX_WORKER_NAME": owned_name(f"{name}-api")}
    if request.param == EMBEDDED:
        with ExitStack() as stack:
            api = _stopped(
                stack, ServiceProcess(cli_environment(data_dir, **common), console_script=True)
            )
            api.start()
            yield Served(EMBEDDED, api.url, (api,))
        return
    async with fresh_postgres_database() as database_url:
        env = cli_environment(
            data_dir,
            **common,
            SCRIPTBOX_DATABASE_URL=database_url,
            SCRIPTBOX_REDIS_URL="redis://127.0.0.1:6379/0",
            SCRIPTBOX_REDIS_PREFIX=f"scriptbox-served-{secrets.token_hex(4)}:",
            # Both processes must sign and check the same tokens.
            SCRIPTBOX_JWT_SECRET=secrets.token_urlsafe(32),
        )
        with ExitStack() as stack:
            api = _stopped(
                stack,
                ServiceProcess({**env, "SCRIPTBOX_EMBEDDED_WORKER": "false"}, console_script=True),
            )
            api.start()  # migrates the database before the worker looks at it
            worker_env = {**env, "SCRIPTBOX_WORKER_NAME": owned_name(f"{name}-worker")}
            worker = _stopped(
                stack, ServiceProcess(worker_env, command="worker", console_script=True)
            )
            worker.start()
            yield Served(SCALE_OUT, api.url, (api, worker))


@pytest.fixture
async def anon(served: Served) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=120) as http:
        yield GraphQLClient(served.url, None, http)


@pytest.fixture
async def alice(anon: GraphQLClient) -> GraphQLClient:
    return await registered(anon, "alice")


@pytest.fixture
async def bob(anon: GraphQLClient) -> GraphQLClient:
    return await registered(anon, "bob")


@pytest.fixture(autouse=True)
def _logs_on_failure(served: Served) -> Iterator[None]:
    """The served processes' logs, which pytest shows for a failing test only."""
    yield
    print(served.logs()[-20000:])
