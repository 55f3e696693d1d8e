"""What an operator deletes in the database ends what it granted.

There is no API to delete an account or to sign everyone out: an operator
deletes rows (README, "Operator commands"). A refresh token whose row is
gone, or whose account is gone, is refused as no longer valid, with the
stable code, never an internal error."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.client import PASSWORD, REGISTER, GraphQLClient, unique_username
from tests.support.processes import ServiceProcess, cli_environment

REFRESH = """
mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }
"""
ME = "{ me { username } }"
NO_LONGER_VALID = "The refresh token is no longer valid; log in again."


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, Path]]:
    data_dir = tmp_path_factory.mktemp("operator-deletions")
    service = ServiceProcess(cli_environment(data_dir)).start()
    try:
        yield service, data_dir / "scriptbox.sqlite3"
    finally:
        service.stop()


async def account(http: httpx.AsyncClient, url: str, prefix: str) -> tuple[GraphQLClient, str, str]:
    """A new account's client, id and refresh token."""
    anon = GraphQLClient(url, None, http)
    data = (await anon.data(REGISTER, {"u": unique_username(prefix), "p": PASSWORD}))["register"]
    return anon.with_token(data["accessToken"]), data["user"]["id"], data["refreshToken"]


def delete_rows(database: Path, statement: str, *args: str) -> int:
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("PRAGMA foreign_keys = ON")  # as the service runs it: cascades
        return db.execute(statement, args).rowcount


async def assert_refresh_refused(client: GraphQLClient, refresh_token: str) -> None:
    error = await client.error(REFRESH, {"t": refresh_token})
    assert (error["extensions"]["code"], error["message"]) == ("UNAUTHENTICATED", NO_LONGER_VALID)


async def test_a_refresh_token_whose_row_was_deleted_is_refused(
    served: tuple[ServiceProcess, Path],
) -> None:
    service, database = served
    async with httpx.AsyncClient(timeout=60) as http:
        client, user_id, refresh_token = await account(http, service.url, "signedout")
        assert delete_rows(database, "DELETE FROM refresh_tokens WHERE user_id = ?", user_id) == 1
        await assert_refresh_refused(client, refresh_token)
        # The access token lives on until it expires; the account is intact.
        assert (await client.data(ME))["me"]["username"].startswith("signedout")


async def test_a_refresh_token_of_a_deleted_account_is_refused(
    served: tuple[ServiceProcess, Path],
) -> None:
    service, database = served
    async with httpx.AsyncClient(timeout=60) as http:
        client, user_id, refresh_token = await account(http, service.url, "gone")
        assert delete_rows(database, "DELETE FROM users WHERE id = ?", user_id) == 1
        await assert_refresh_refused(client, refresh_token)
        error = await client.error(ME)
        assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_kept_login_of_a_deleted_account_is_refused_within_the_access_check_bound(
    served: tuple[ServiceProcess, Path],
) -> None:
    """A deletion in the database sends no signal: a login's session kept by
    the service is read afresh once it is older than the access check
    interval (0.5 s by default), as a socket's would be."""
    service, database = served
    async with httpx.AsyncClient(timeout=60) as http:
        client, user_id, _ = await account(http, service.url, "keptgone")
        for _ in range(2):  # the second answer is the kept session's
            assert (await client.data(ME))["me"]["username"].startswith("keptgone")
        assert delete_rows(database, "DELETE FROM users WHERE id = ?", user_id) == 1
        # Far longer than the bound, so a busy machine does not fail it.
        deadline = time.monotonic() + 20
        while (body := await client.execute(ME)).get("data"):
            assert time.monotonic() < deadline, "the deleted account's login still answers"
            await asyncio.sleep(0.1)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
