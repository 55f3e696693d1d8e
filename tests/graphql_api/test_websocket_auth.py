"""An access token is honoured on a WebSocket only while it is valid.

Against `scriptbox serve` with 3-second access tokens: at the token's
expiry each live subscription ends with an UNAUTHENTICATED `error` and the
socket closes with 4403; an operation sent after expiry, or after the
account was deleted, never runs. Both protocols."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import websockets

from tests.support.client import PASSWORD, GraphQLClient, registered
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.ws import (
    LEGACY_WS,
    TRANSPORT_WS,
    assert_healthz_answers,
    error_codes,
    raw_socket,
)

TOKEN_TTL_SECONDS = 3
CREATE_FOLDER = "mutation($name: String!) { createFolder(name: $name) { name } }"
LIVE = "subscription { myExecutions { executionId status } }"
BOTH_PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])


def start_service(data_dir: Path, **env: str) -> ServiceProcess:
    return ServiceProcess(cli_environment(data_dir, **env)).start()


@pytest.fixture(scope="module")
def short_tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = start_service(
        tmp_path_factory.mktemp("ws-short-tokens"),
        SCRIPTBOX_ACCESS_TOKEN_TTL_SECONDS=str(TOKEN_TTL_SECONDS),
    )
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def lasting_tokens(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServiceProcess, Path]]:
    data_dir = tmp_path_factory.mktemp("ws-lasting-tokens")
    service = start_service(data_dir)
    try:
        yield service, data_dir
    finally:
        service.stop()


async def new_account(base_url: str) -> GraphQLClient:
    async with httpx.AsyncClient(timeout=60) as http:
        return await registered(GraphQLClient(base_url, None, http), "wsauth")


def expiry_of(token: str) -> float:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return float(claims["exp"])


async def wait_until_expired(token: str) -> None:
    expires_at = expiry_of(token)
    deadline = time.monotonic() + TOKEN_TTL_SECONDS + 30
    while time.time() < expires_at + 0.05:
        assert time.monotonic() < deadline, "the clock did not reach the token's expiry"
        await asyncio.sleep(0.05)


async def folder_names(base_url: str, username: str) -> list[str]:
    async with httpx.AsyncClient(timeout=60) as http:
        client = GraphQLClient(base_url, None, http)
        login = await client.data(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) "
            "{ accessToken } }",
            {"u": username, "p": PASSWORD},
        )
        tree = await client.with_token(login["login"]["accessToken"]).data(
            "{ tree { folders { name } } }"
        )
    return [folder["name"] for folder in tree["tree"]["folders"]]


async def test_mutation_after_expiry_never_runs_and_socket_closes_4403(
    short_tokens: ServiceProcess,
) -> None:
    client = await new_account(short_tokens.url)
    assert client.token is not None
    async with raw_socket(short_tokens.url, client.token) as socket:
        await socket.send_operation("before", CREATE_FOLDER, {"name": "before-expiry"})
        answer = await socket.next_message()
        assert answer["type"] == "next", answer
        assert answer["payload"]["data"] == {"createFolder": {"name": "before-expiry"}}
        await wait_until_expired(client.token)
        # The server may have closed the socket already (its timer): then
        # the send fails, which is also a refusal.
        with contextlib.suppress(websockets.ConnectionClosed):
            await socket.send_operation("after", CREATE_FOLDER, {"name": "after-expiry"})
        await assert_healthz_answers(short_tokens.url)
        code, before_close = await socket.closed_with(timeout=15)
    assert code == 4403
    for message in before_close:
        if message.get("id") == "after":
            assert error_codes(message) == ["UNAUTHENTICATED"]
    username = client.user["username"]  # type: ignore[attr-defined]
    assert await folder_names(short_tokens.url, username) == ["before-expiry"]


@BOTH_PROTOCOLS
async def test_live_subscription_gets_an_error_before_the_4403_close(
    short_tokens: ServiceProcess, protocol: str
) -> None:
    client = await new_account(short_tokens.url)
    async with raw_socket(short_tokens.url, client.token, protocol) as socket:
        await socket.send_operation("live", LIVE)
        # Messages are handled in order: once this one is answered, the
        # subscription above is live.
        await socket.send_operation("probe", "subscription { nope }")
        probe = await socket.next_message()
        assert (probe["id"], probe["type"]) == ("probe", "error"), probe
        code, before_close = await socket.closed_with(timeout=TOKEN_TTL_SECONDS + 15)
    assert code == 4403
    assert before_close, "the subscription ended silently"
    ended = before_close[0]
    assert ended["id"] == "live"
    assert error_codes(ended) == ["UNAUTHENTICATED"]


@BOTH_PROTOCOLS
async def test_operation_after_the_account_is_deleted_is_refused(
    lasting_tokens: tuple[ServiceProcess, Path], protocol: str
) -> None:
    service, data_dir = lasting_tokens
    client = await new_account(service.url)
    username = client.user["username"]  # type: ignore[attr-defined]
    async with raw_socket(service.url, client.token, protocol) as socket:
        # There is no API to delete an account: an operator does it in the
        # database.
        with contextlib.closing(sqlite3.connect(data_dir / "scriptbox.sqlite3")) as db, db:
            deleted = db.execute("DELETE FROM users WHERE username = ?", (username,)).rowcount
        assert deleted == 1
        await socket.send_operation("after", LIVE)
        refused = await socket.next_message()
        code, _ = await socket.closed_with(timeout=15)
    assert refused["id"] == "after"
    assert error_codes(refused) == ["UNAUTHENTICATED"]
    assert code == 4403
