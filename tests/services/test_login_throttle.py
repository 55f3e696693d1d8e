"""The login throttle over the served process: failures count per (username,
client address), delays grow, and API processes on one database share the
count.

Clients pick their source address on the loopback range (127.0.0.2 is
another machine as far as the service can tell: it reads the socket peer)."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.postgres import fresh_postgres_database
from tests.support.client import PASSWORD, REGISTER, GraphQLClient, unique_username
from tests.support.processes import ServiceProcess, cli_environment

LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }"
OWNER = "127.0.0.1"
ATTACKER = "127.0.0.2"


def login_env(data_dir: Path, **extra: str) -> dict[str, str]:
    # No embedded worker: these tests run nothing, so no warm containers.
    return cli_environment(data_dir, SCRIPTBOX_EMBEDDED_WORKER="false", **extra)


@asynccontextmanager
async def client_from(url: str, source: str) -> AsyncIterator[GraphQLClient]:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(transport=transport, timeout=60) as http:
        yield GraphQLClient(url, None, http)


async def login(client: GraphQLClient, username: str, password: str) -> dict[str, Any]:
    """The login's first error, or {} when it succeeded."""
    body = await client.execute(LOGIN, {"u": username, "p": password})
    if body.get("errors"):
        error: dict[str, Any] = body["errors"][0]
        return error
    assert body["data"]["login"]["accessToken"]
    return {}


def code(error: dict[str, Any]) -> str | None:
    return error.get("extensions", {}).get("code") if error else None


async def new_user(client: GraphQLClient) -> str:
    name = unique_username("throttle")
    await client.data(REGISTER, {"u": name, "p": PASSWORD})
    return name


@pytest.fixture(scope="module")
def slow_locks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """Three free failures, then a lock long enough to outlast each test."""
    data_dir = tmp_path_factory.mktemp("logins")
    service = ServiceProcess(
        login_env(
            data_dir,
            SCRIPTBOX_LOGIN_MAX_FAILURES="3",
            SCRIPTBOX_LOGIN_FIRST_DELAY_SECONDS="120",
            SCRIPTBOX_LOGIN_WINDOW_SECONDS="600",
            SCRIPTBOX_LOGIN_MAX_USERNAMES_PER_ADDRESS="4",
        )
    ).start()
    try:
        yield service
    finally:
        service.stop()


async def test_failures_from_another_address_do_not_lock_the_owner_out(
    slow_locks: ServiceProcess,
) -> None:
    async with (
        client_from(slow_locks.url, OWNER) as owner,
        client_from(slow_locks.url, ATTACKER) as attacker,
    ):
        name = await new_user(owner)
        codes = [code(await login(attacker, name, f"guess {i}")) for i in range(3)]
        assert codes == ["UNAUTHENTICATED"] * 3
        # The attacker's address is locked, even with the right password...
        locked = await login(attacker, name, PASSWORD)
        assert code(locked) == "RATE_LIMITED", locked
        assert locked["extensions"]["retryAfterSeconds"] > 60
        # ...and the owner's is not: a typo is just a typo, then they log in.
        assert code(await login(owner, name, "a typo")) == "UNAUTHENTICATED"
        assert await login(owner, name, PASSWORD) == {}
        assert code(await login(attacker, name, PASSWORD)) == "RATE_LIMITED"


async def test_a_username_spray_stays_bounded_and_is_throttled(
    slow_locks: ServiceProcess,
) -> None:
    async with (
        client_from(slow_locks.url, OWNER) as owner,
        client_from(slow_locks.url, "127.0.0.3") as sprayer,
    ):
        victim = await new_user(owner)
        # Four usernames are counted apart; past that the address shares one
        # row, which locks after its three free failures.
        codes = [code(await login(sprayer, unique_username("spray"), "x" * 12)) for _ in range(7)]
        assert codes == ["UNAUTHENTICATED"] * 7
        refused = await login(sprayer, unique_username("spray"), "x" * 12)
        assert code(refused) == "RATE_LIMITED", refused
        assert await login(owner, victim, PASSWORD) == {}
    database = Path(slow_locks.env["SCRIPTBOX_DATA_DIR"]) / "scriptbox.sqlite3"
    with sqlite3.connect(database) as db:
        (rows,) = db.execute(
            "SELECT count(*) FROM login_failures WHERE client_address = '127.0.0.3'"
        ).fetchone()
    assert rows == 5  # four usernames and the address-wide row


def failure_rows(service: ServiceProcess, username: str) -> int:
    database = Path(service.env["SCRIPTBOX_DATA_DIR"]) / "scriptbox.sqlite3"
    with sqlite3.connect(database) as db:
        (rows,) = db.execute(
            "SELECT count(*) FROM login_failures WHERE username = ?", (username,)
        ).fetchone()
    return int(rows)


async def test_old_failures_are_pruned(tmp_path: Path) -> None:
    service = ServiceProcess(
        login_env(tmp_path / "data", SCRIPTBOX_LOGIN_WINDOW_SECONDS="2")
    ).start()
    try:
        async with client_from(service.url, ATTACKER) as client:
            forgotten = unique_username("old")
            assert code(await login(client, forgotten, "x" * 12)) == "UNAUTHENTICATED"
            assert failure_rows(service, forgotten) == 1
            # Each new failure prunes what has expired; the first one's row
            # goes once its window has passed.
            deadline = time.monotonic() + 60
            while failure_rows(service, forgotten):
                assert time.monotonic() < deadline, "the old row was never pruned"
                assert code(await login(client, unique_username("new"), "x" * 12)) == (
                    "UNAUTHENTICATED"
                )
                await asyncio.sleep(0.25)
    finally:
        service.stop()


async def wait_until_unlocked(client: GraphQLClient, name: str, deadline: float) -> None:
    """Poll with a wrong password: refused attempts are not counted, and the
    first one let through is a failure that starts the next, longer lock."""
    while True:
        error = await login(client, name, "still guessing")
        if code(error) == "UNAUTHENTICATED":
            return
        assert code(error) == "RATE_LIMITED", error
        assert time.monotonic() < deadline, "the lock did not end"
        await asyncio.sleep(0.25)


async def test_each_failure_past_the_free_ones_doubles_the_delay(tmp_path: Path) -> None:
    service = ServiceProcess(
        login_env(
            tmp_path / "data",
            SCRIPTBOX_LOGIN_MAX_FAILURES="2",
            SCRIPTBOX_LOGIN_FIRST_DELAY_SECONDS="2",
            SCRIPTBOX_LOGIN_WINDOW_SECONDS="600",
        )
    ).start()
    try:
        async with client_from(service.url, ATTACKER) as client:
            name = await new_user(client)
            assert code(await login(client, name, "guess 1")) == "UNAUTHENTICATED"
            assert code(await login(client, name, "guess 2")) == "UNAUTHENTICATED"
            waits = []
            for attempt in range(3):
                locked = await login(client, name, PASSWORD)
                assert code(locked) == "RATE_LIMITED", locked
                waits.append(locked["extensions"]["retryAfterSeconds"])
                if attempt < 2:
                    await wait_until_unlocked(client, name, time.monotonic() + 60)
            # Locks of 2, 4 and 8 seconds (less the time a request takes).
            assert waits[0] <= 2 < waits[1] <= 4 < waits[2] <= 8, waits
    finally:
        service.stop()


@pytest.fixture
async def two_apis_on_postgres(tmp_path: Path) -> AsyncIterator[list[ServiceProcess]]:
    async with fresh_postgres_database() as database_url:
        base = login_env(
            tmp_path / "data",
            SCRIPTBOX_DATABASE_URL=database_url,
            SCRIPTBOX_JWT_SECRET=secrets.token_urlsafe(32),
            SCRIPTBOX_LOGIN_MAX_FAILURES="4",
            SCRIPTBOX_LOGIN_FIRST_DELAY_SECONDS="120",
        )
        apis = [ServiceProcess(base), ServiceProcess(base)]
        try:
            for api in apis:  # one after the other: the first migrates
                api.start()
            yield apis
        finally:
            for api in apis:
                api.stop()


async def test_api_processes_on_one_database_share_the_count(
    two_apis_on_postgres: list[ServiceProcess],
) -> None:
    first, second = two_apis_on_postgres
    async with (
        client_from(first.url, ATTACKER) as via_first,
        client_from(second.url, ATTACKER) as via_second,
    ):
        name = await new_user(via_first)
        # Two failures through each: four in all, the free allowance.
        for i, client in enumerate([via_first, via_second, via_first, via_second]):
            assert code(await login(client, name, f"guess {i}")) == "UNAUTHENTICATED"
        for client in (via_first, via_second):
            locked = await login(client, name, PASSWORD)
            assert code(locked) == "RATE_LIMITED", locked


async def test_a_lock_holds_to_its_last_second(tmp_path: Path) -> None:
    """Refused to the end: in its last second a lock still answers RATE_LIMITED
    (retryAfterSeconds 1), and only then does the right password get in."""
    service = ServiceProcess(
        login_env(
            tmp_path / "data",
            SCRIPTBOX_LOGIN_MAX_FAILURES="1",
            SCRIPTBOX_LOGIN_FIRST_DELAY_SECONDS="3",
            SCRIPTBOX_LOGIN_WINDOW_SECONDS="600",
        )
    ).start()
    try:
        async with client_from(service.url, ATTACKER) as client:
            name = await new_user(client)
            assert code(await login(client, name, "guess 1")) == "UNAUTHENTICATED"
            waits: list[int] = []
            deadline = time.monotonic() + 60
            # Refused attempts are not counted, so polling never extends the
            # lock; a refusal answers without hashing, far faster than the
            # one-second step polled for.
            while code(refused := await login(client, name, PASSWORD)) == "RATE_LIMITED":
                waits.append(refused["extensions"]["retryAfterSeconds"])
                assert time.monotonic() < deadline, "the lock did not end"
                await asyncio.sleep(0.1)
            assert refused == {}, refused
            assert waits and waits[-1] == 1 and max(waits) <= 3, waits
    finally:
        service.stop()
