"""Fixtures shared by the whole suite: real servers on 127.0.0.1, and the
package index every service and `scriptbox` process of the suite uses.

The session also ends by failing when something it started is still there:
a sandbox container, a dependency-environment volume or a child process.
Other test runs may share the machine, so only what this run can name is
counted: containers whose owner (worker name) ends with this process's pid,
volumes of the namespaces its services used, and its own descendants.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import httpx
import pytest
import uvloop
from moto.server import ThreadedMotoServer

from harness.postgres import fresh_postgres_database
from sandbox import env_volumes
from sandbox.container_spec import LABEL_OWNER, LABEL_SANDBOX
from services.accounts import create_user
from tests.support.client import PASSWORD, GraphQLClient, registered, unique_username
from tests.support.owners import is_owned
from tests.support.package_index import SuiteIndex, suite_index_served
from tests.support.servers import Service, free_port, running_service, test_settings
from tests.support.volumes import PROCESSES_NAMESPACE, remove_volumes, volume_namespace

# Namespaces of the dependency volumes this run's services made.
VOLUME_NAMESPACES: set[str] = set()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    found = _containers_left() + _volumes_left() + _processes_left()
    if not found:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("left behind by this test run:", red=True, bold=True)
        for line in found:
            reporter.write_line(f"  {line}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _containers_left() -> list[str]:
    try:
        api = docker.from_env().api
        listed = api.containers(all=True, filters={"label": f"{LABEL_SANDBOX}=1"})
    except docker.errors.DockerException:
        return []  # no engine: nothing of ours can be there
    return [
        f"container {c['Id'][:12]} of {c['Labels'].get(LABEL_OWNER)} ({c['Status']})"
        for c in listed
        if is_owned(c["Labels"].get(LABEL_OWNER))
    ]


def _volumes_left() -> list[str]:
    try:
        api = docker.from_env().api
    except docker.errors.DockerException:
        return []  # no engine: nothing of ours can be there
    return [
        f"volume {name} (namespace {namespace})"
        for namespace in sorted(VOLUME_NAMESPACES)
        for name, _hash in env_volumes.list_volumes(api, namespace)
    ]


def _processes_left() -> list[str]:
    """Live descendants of this process (threads are not listed in /proc)."""
    parents: dict[int, list[int]] = {}
    states: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited while we looked
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        pid = int(stat.parent.name)
        states[pid] = state
        parents.setdefault(int(ppid), []).append(pid)
    found = []
    todo = list(parents.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo.extend(parents.get(pid, []))
        if states[pid] == "Z":
            continue  # already dead, only not yet waited for
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        found.append(f"process {pid}: {command.strip()}")
    return found


@pytest.fixture(scope="session", autouse=True)
def processes_volumes() -> Iterator[None]:
    """The dependency volumes of the `scriptbox` processes tests start
    (cli_environment puts them in one namespace of this run), removed when
    the session's fixtures end, then checked like the rest."""
    VOLUME_NAMESPACES.add(PROCESSES_NAMESPACE)
    yield
    with contextlib.suppress(docker.errors.DockerException):
        remove_volumes(PROCESSES_NAMESPACE)


@pytest.fixture(scope="session", autouse=True)
def package_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuiteIndex]:
    """The suite's package index, served on 127.0.0.1 for the whole session:
    test_settings and cli_environment point every service at it, so no
    dependency is ever fetched from the internet. Set up before, and so
    stopped after, every other session fixture that could use it."""
    with suite_index_served(tmp_path_factory.mktemp("package-index")) as served:
        yield served


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
    with volume_namespace(request.param) as namespace:
        VOLUME_NAMESPACES.add(namespace)
        async for running in _service(request, data_dir, namespace):
            yield running


async def _service(
    request: pytest.FixtureRequest, data_dir: Path, namespace: str
) -> AsyncIterator[Service]:
    overrides: dict[str, object] = {"deps_namespace": namespace}
    if request.param == "postgres":
        async with (
            fresh_postgres_database() as url,
            running_service(test_settings(data_dir, database_url=url, **overrides)) as running,
        ):
            yield running
        return
    if request.param == "s3":
        s3: S3Endpoint = request.getfixturevalue("s3_endpoint")
        overrides |= {
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


ADMIN_LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { accessToken user { id username isAdmin } }
}
"""


@pytest.fixture
async def admin(service: Service, anon: GraphQLClient) -> GraphQLClient:
    """An admin, made as an operator makes one (`scriptbox create-user
    --admin` calls the same accounts service), then logged in over GraphQL."""
    username = unique_username("admin")
    await create_user(username, PASSWORD, is_admin=True)
    data = (await anon.data(ADMIN_LOGIN, {"u": username, "p": PASSWORD}))["login"]
    assert data["user"]["isAdmin"] is True
    return anon.with_token(data["accessToken"])


@pytest.fixture
def fresh_sessions(service: Service) -> Iterator[None]:
    """Every request of the test reads its session afresh (the JWT, the
    user, the login's family, the reach): what a request costs must not
    depend on whether the same login was read within the kept-session bound
    (services/session_cache.py)."""
    accounts = service.process.services.accounts
    kept, accounts._sessions = accounts._sessions, None
    try:
        yield
    finally:
        accounts._sessions = kept
