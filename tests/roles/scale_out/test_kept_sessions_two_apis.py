"""Two API processes on one PostgreSQL: a login's session kept by one
process is not served once access changed through the other; the change
shows within the access check interval (the access revision lives in the
database, and each process polls it)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from harness.postgres import fresh_postgres_database
from tests.support.client import PASSWORD, GraphQLClient, registered
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.sharing import SHARED_WITH_ME, share
from tests.support.tree import folder

ME = "{ me { username } }"
CHANGE = (
    "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }"
)
# Far longer than the 0.5 s bound, so a busy machine does not fail it.
DEADLINE_SECONDS = 20


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


async def test_an_access_change_through_one_api_reaches_the_kept_sessions_of_the_other(
    tmp_path: Path,
) -> None:
    async with fresh_postgres_database() as database_url:
        env = cli_environment(
            tmp_path / "data",
            SCRIPTBOX_DATABASE_URL=database_url,
            SCRIPTBOX_JWT_SECRET=secrets.token_urlsafe(32),
            SCRIPTBOX_STORAGE_DIR=str(tmp_path / "objects"),
            SCRIPTBOX_EMBEDDED_WORKER="false",
        )
        with ServiceProcess(env) as api_a, ServiceProcess(env) as api_b:
            async with httpx.AsyncClient(timeout=60) as http:
                owner = await registered(GraphQLClient(api_b.url, None, http), "owner")
                reader = await registered(GraphQLClient(api_b.url, None, http), "reader")
                reader_on_a = GraphQLClient(api_a.url, reader.token, http)
                owner_on_a = GraphQLClient(api_a.url, owner.token, http)
                for _ in range(2):  # the second answers are the kept sessions'
                    assert (await reader_on_a.data(SHARED_WITH_ME))["sharedWithMe"] == []
                    assert (await owner_on_a.data(ME))["me"]["username"].startswith("owner")

                # Given through B: A's kept session is read again.
                shared = await folder(owner, "given-on-b")
                await share(owner, shared["id"], "VIEWER", user=reader)

                async def sees_the_share() -> bool:
                    rows = (await reader_on_a.data(SHARED_WITH_ME))["sharedWithMe"]
                    return [row["name"] for row in rows] == ["given-on-b"]

                await until(sees_the_share, "the share given on B is not seen on A")

                # Taken away through B: the old login ends on A too.
                await owner.data(CHANGE, {"c": PASSWORD, "n": "a brand new passphrase"})

                async def refused() -> bool:
                    body = await owner_on_a.execute(ME)
                    errors = body.get("errors") or []
                    return bool(errors) and errors[0]["extensions"]["code"] == "UNAUTHENTICATED"

                await until(refused, "the old login still answers on A")
