"""Hostile GraphQL documents against the served process: each is refused with
a code in milliseconds, over HTTP and over WebSocket, and `/healthz` keeps
answering within a second while it is in flight. SIGTERM ends the process
even with subscriptions open and a request half sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import Settings
from graphql_api.web import tree_depth
from tests.support.client import GraphQLClient, registered
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.ws import subscription_client

# Deadline for a hostile request: only guards against a hang.
HANG = 30.0


def _env(data_dir: Path) -> dict[str, str]:
    # No embedded worker or scheduler: nothing here runs a script.
    return cli_environment(data_dir, SCRIPTBOX_EMBEDDED_WORKER="false", SCRIPTBOX_SCHEDULER="false")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    process = ServiceProcess(_env(tmp_path_factory.mktemp("query-cost"))).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def alice(served: ServiceProcess) -> GraphQLClient:
    return await registered(GraphQLClient(served.url), "cost")


def amplified(levels: int, on: str = "Folder", leaf: str = "id name", nest: str = "folders") -> str:
    """Each fragment spreads the one below it three times: 3**levels fields."""
    fragments = [f"fragment F0 on {on} {{ {leaf} }}"]
    for i in range(1, levels + 1):
        below = f"...F{i - 1}"
        fragments.append(f"fragment F{i} on {on} {{ {below} {below} {nest} {{ {below} }} }}")
    return " ".join(fragments)


def inline_amplified(levels: int) -> str:
    """The same growth, with the spreads inside nested inline fragments."""
    fragments = ["fragment F0 on Folder { id }"]
    for i in range(1, levels + 1):
        below = f"...F{i - 1}"
        fragments.append(
            f"fragment F{i} on Folder {{ ... on Folder {{ {below} ... on Folder {{ {below} }} }} "
            f"... on Folder {{ folders {{ {below} }} }} }}"
        )
    return " ".join(fragments)


# (query, expected code, expected limit): shapes that amplify work past their size.
HOSTILE = {
    "fragments spreading fragments": (
        "{ tree { folders { ...F29 } } } " + amplified(29),
        "QUERY_TOO_COMPLEX",
        "cost",
    ),
    "inline fragments nested": (
        "{ tree { folders { ...F25 } } } " + inline_amplified(25),
        "QUERY_TOO_COMPLEX",
        "cost",
    ),
    "inline fragments side by side": (
        "{ tree { folders { " + "... on Folder { folders { id } } " * 400 + "} } }",
        "QUERY_TOO_COMPLEX",
        "cost",
    ),
    "duplicated fields": ("{ " + "me { id } " * 400 + "}", "QUERY_TOO_COMPLEX", "breadth"),
    "fragments merged into one set": (
        "{ tree { folders { "
        + " ".join(f"...D{i}" for i in range(150))
        + " } } } "
        + " ".join(f"fragment D{i} on Folder {{ folders {{ id }} }}" for i in range(150)),
        "QUERY_TOO_COMPLEX",
        "breadth",
    ),
    "alias flood": (
        "{ tree { folders { " + " ".join(f"a{i}: id" for i in range(40)) + " ...A ...A ...A } } }"
        " fragment A on Folder { " + " ".join(f"b{i}: name" for i in range(40)) + " }",
        "QUERY_TOO_COMPLEX",
        "aliases",
    ),
    "directive flood": (
        "{ me { id " + "@include(if: true) " * 400 + "} }",
        "QUERY_TOO_COMPLEX",
        "cost",
    ),
    "deep nesting": (
        "{ tree { folders { " + "folders { " * 60 + "id" + " }" * 60 + " } } }",
        "GRAPHQL_VALIDATION_FAILED",
        "depth",
    ),
    "deep nesting through fragments": (
        "{ tree { folders { ...N60 } } } fragment N0 on Folder { id } "
        + " ".join(
            f"fragment N{i} on Folder {{ folders {{ ...N{i - 1} }} }}" for i in range(1, 61)
        ),
        "GRAPHQL_VALIDATION_FAILED",
        "depth",
    ),
    "fragment cycle": (
        "{ tree { folders { ...C0 } } } fragment C0 on Folder { id ...C1 } "
        "fragment C1 on Folder { folders { ...C0 } }",
        "GRAPHQL_VALIDATION_FAILED",
        "fragmentCycle",
    ),
}


async def while_healthz_answers(served: ServiceProcess, hostile: Awaitable[Any]) -> Any:
    """Runs `hostile`, probing `/healthz` meanwhile: each probe must answer
    within 1 s, and at least one is sent while `hostile` is in flight."""
    task = asyncio.ensure_future(hostile)
    await asyncio.sleep(0)  # let the hostile request go out first
    deadline = time.monotonic() + HANG
    async with httpx.AsyncClient(base_url=served.url, timeout=HANG) as http:
        while True:
            started = time.monotonic()
            try:
                response = await asyncio.wait_for(http.get("/healthz"), 1.0)
            except TimeoutError:
                pytest.fail("/healthz did not answer within 1 s during the hostile request")
            assert response.status_code == 200
            assert time.monotonic() - started < 1.0
            if task.done() or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
    return await asyncio.wait_for(task, max(0.1, deadline - time.monotonic()))


def assert_refused(error: dict[str, Any], code: str, limit: str) -> None:
    assert error["extensions"]["code"] == code, error
    assert error["extensions"]["limit"] == limit, error


@pytest.mark.parametrize("shape", list(HOSTILE))
async def test_hostile_document_is_refused_over_http(
    served: ServiceProcess, alice: GraphQLClient, shape: str
) -> None:
    query, code, limit = HOSTILE[shape]
    assert len(query.encode()) < 20_000  # small documents, all under the token limit
    for client in (alice, alice.with_token(None)):  # with a token and anonymous
        error = await while_healthz_answers(served, client.error(query))
        assert_refused(error, code, limit)


async def test_a_long_document_is_refused_before_parsing(
    served: ServiceProcess, alice: GraphQLClient
) -> None:
    # Few tokens, many characters: the parser would read them all.
    query = "{ __typename }" + " " * (Settings.max_query_length + 1)
    error = await while_healthz_answers(served, alice.error(query))
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED", error
    assert f"{Settings.max_query_length} code points" in error["message"], error


@pytest.mark.parametrize(
    "query",
    [
        # Many tokens: the subscription check in front of the schema parses too.
        "subscription { " + "a " * 1_000_000 + "}",
        "subscription { myExecutions { seq } }" + " " * (Settings.max_query_length + 1),
    ],
    ids=["many tokens", "many characters"],
)
async def test_a_huge_subscription_over_http_is_refused_at_once(
    served: ServiceProcess, alice: GraphQLClient, query: str
) -> None:
    error = await while_healthz_answers(served, alice.with_token(None).error(query))
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED", error


async def ws_error(served: ServiceProcess, token: str | None, query: str) -> dict[str, Any]:
    """The first error a graphql-transport-ws `subscribe` with `query` gets."""
    async with subscription_client(served.url, token) as client:
        # The client's reader hands messages to registered operations only:
        # register before sending, so a fast answer is not dropped.
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        client._queues["hostile"] = queue
        await client.ws.send(
            json.dumps({"id": "hostile", "type": "subscribe", "payload": {"query": query}})
        )
        message = await asyncio.wait_for(queue.get(), HANG)
    assert message is not None, "the socket closed instead of answering"
    if message["type"] == "error":
        payload: list[dict[str, Any]] = message["payload"]
    else:
        assert message["type"] == "next", message
        payload = message["payload"]["errors"]
    return payload[0]


ON_A_FOLDER = "subscription { myExecutions { execution { script { folder { %s } } } } }"

WS_HOSTILE = {
    "fragments spreading fragments": (
        ON_A_FOLDER % "...F29" + " " + amplified(29),
        "QUERY_TOO_COMPLEX",
        "cost",
    ),
    "events spreading events": (
        "subscription { myExecutions { ...E40 } } fragment E0 on ExecutionEvent { seq status } "
        + " ".join(
            f"fragment E{i} on ExecutionEvent {{ ...E{i - 1} ...E{i - 1} }}" for i in range(1, 41)
        ),
        "QUERY_TOO_COMPLEX",
        "cost",
    ),
    "duplicated fields": (
        "subscription { myExecutions { " + "execution { id } " * 400 + "} }",
        "QUERY_TOO_COMPLEX",
        "breadth",
    ),
    "deep nesting": (
        ON_A_FOLDER % ("folders { " * 60 + "id" + " }" * 60),
        "GRAPHQL_VALIDATION_FAILED",
        "depth",
    ),
}


@pytest.mark.parametrize("shape", list(WS_HOSTILE))
async def test_hostile_document_is_refused_over_websocket(
    served: ServiceProcess, alice: GraphQLClient, shape: str
) -> None:
    query, code, limit = WS_HOSTILE[shape]
    error = await while_healthz_answers(served, ws_error(served, alice.token, query))
    assert_refused(error, code, limit)


def tree_query(depth: int) -> str:
    """The web page's one tree request (graphql_api/static/app.js, treeQuery)."""
    scripts = "scripts { id name path }"
    folders = ""
    for _ in range(depth):
        folders = f"folders {{ id name path {scripts} {folders} }}"
    return f"query ScriptboxTree {{ tree {{ {scripts} {folders} }} }}"


async def test_the_web_page_tree_query_still_works(alice: GraphQLClient) -> None:
    depth = tree_depth(Settings.from_env())
    parent = None
    for level in range(3):
        created = await alice.data(
            "mutation($n: String!, $p: ID) { createFolder(name: $n, parentId: $p) { id } }",
            {"n": f"level{level}", "p": parent},
        )
        parent = created["createFolder"]["id"]
    data = await alice.data(tree_query(depth))
    level = data["tree"]
    for expected in ("level0", "level1", "level2"):
        (folder,) = level["folders"]
        assert folder["name"] == expected
        level = folder
    assert level["folders"] == []


async def test_introspection_stays_allowed(alice: GraphQLClient) -> None:
    from graphql import get_introspection_query

    data = await alice.data(get_introspection_query(descriptions=True))
    assert data["__schema"]["queryType"]["name"] == "Query"


def _half_sent_request(port: int) -> socket.socket:
    """An HTTP request whose body never finishes arriving: in flight until
    the server gives up on it."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100000\r\n\r\n{"query": "{ me { id'
    )
    return conn


async def _hold_subscriptions(url: str, token: str, count: int, opened: asyncio.Event) -> None:
    """`count` sockets, each with a live subscription, open until cancelled."""
    subscribe = {"type": "subscribe", "payload": {"query": "subscription { myExecutions { seq } }"}}
    async with contextlib.AsyncExitStack() as sockets:
        for _ in range(count):
            client = await sockets.enter_async_context(subscription_client(url, token))
            await client.ws.send(json.dumps({"id": "live", **subscribe}))
        opened.set()
        await asyncio.Event().wait()


async def _wait_exit(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            return code
        await asyncio.sleep(0.1)
    return None


async def test_sigterm_stops_the_service_under_load(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    service = ServiceProcess(_env(tmp_path_factory.mktemp("sigterm"))).start()
    assert service.process is not None
    holder: asyncio.Task[None] | None = None
    conn = None
    try:
        user = await registered(GraphQLClient(service.url), "sigterm")
        assert user.token is not None
        opened = asyncio.Event()
        holder = asyncio.create_task(_hold_subscriptions(service.url, user.token, 3, opened))
        await asyncio.wait_for(opened.wait(), HANG)
        conn = _half_sent_request(service.port)
        service.process.send_signal(signal.SIGTERM)
        code = await _wait_exit(service.process, 15)
        assert code is not None, "scriptbox serve still running 15 s after SIGTERM"
    finally:
        if holder is not None:
            holder.cancel()
            await asyncio.gather(holder, return_exceptions=True)
        if conn is not None:
            conn.close()
        service.stop()
