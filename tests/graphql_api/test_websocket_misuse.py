"""Client mistakes over a WebSocket are answered per protocol, against
`scriptbox serve`: a document that fails to parse or validate and a payload
too deep or with a lone surrogate or NUL each get an `error` message with a
stable code (the socket stays usable), and a malformed graphql-transport-ws
message closes the socket with 4400. /healthz stays fast meanwhile."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.client import GraphQLClient, registered
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.ws import (
    LEGACY_WS,
    TRANSPORT_WS,
    assert_healthz_answers,
    error_codes,
    raw_socket,
)

WITH_VARIABLE = (
    "subscription($id: ID!) { executionUpdates(executionId: $id) { executionId status } }"
)
BOTH_PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data_dir: Path = tmp_path_factory.mktemp("ws-misuse")
    process = ServiceProcess(cli_environment(data_dir)).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
async def token(service: ServiceProcess) -> str:
    async with httpx.AsyncClient(timeout=60) as http:
        client = await registered(GraphQLClient(service.url, None, http), "wsmisuse")
    assert client.token is not None
    return client.token


def start_message(protocol: str, query: str, variables_json: str) -> str:
    """Built as text: a value nested thousands deep cannot go through json.dumps."""
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    return (
        f'{{"id": "hostile", "type": "{kind}", "payload": '
        f'{{"query": {json.dumps(query)}, "variables": {variables_json}}}}}'
    )


def nested(depth: int) -> str:
    return '{"id": ' + "[" * depth + "]" * depth + "}"


CASES = {
    "syntax error": ("subscription { myExecutions { ", "{}", "GRAPHQL_PARSE_FAILED"),
    "validation error": ("subscription { nope }", "{}", "GRAPHQL_VALIDATION_FAILED"),
    "variables 100 deep": (WITH_VARIABLE, nested(100), "BAD_USER_INPUT"),
    "variables 5000 deep": (WITH_VARIABLE, nested(5000), "BAD_USER_INPUT"),
    "lone surrogate": (WITH_VARIABLE, json.dumps({"id": "\ud800"}), "BAD_USER_INPUT"),
    "NUL character": (WITH_VARIABLE, json.dumps({"id": "a\x00b"}), "BAD_USER_INPUT"),
    "NUL escape in a literal": (
        'subscription { executionUpdates(executionId: "a\\u0000b") { seq } }',
        "{}",
        "BAD_USER_INPUT",
    ),
    "two operations, no name": (
        "subscription A { myExecutions { seq } } subscription B { myExecutions { seq } }",
        "{}",
        "OPERATION_NAME_REQUIRED",
    ),
}


@BOTH_PROTOCOLS
@pytest.mark.parametrize("case", list(CASES))
async def test_mistake_gets_an_error_with_its_code(
    service: ServiceProcess, token: str, protocol: str, case: str
) -> None:
    query, variables_json, code = CASES[case]
    async with raw_socket(service.url, token, protocol) as socket:
        await socket.ws.send(start_message(protocol, query, variables_json))
        await assert_healthz_answers(service.url)
        answer = await socket.next_message()
        assert answer["id"] == "hostile", answer
        assert error_codes(answer) == [code]
        # The socket is still open and answering.
        await socket.send_operation("after", "subscription { nope }")
        after = await socket.next_message()
        assert after["id"] == "after", after


MALFORMED = {
    "not JSON": "{not json",
    "a JSON array": "[]",
    "a JSON string": '"subscribe"',
    "no type": '{"id": "1"}',
    "subscribe without payload": '{"id": "1", "type": "subscribe"}',
    "subscribe without id": '{"type": "subscribe", "payload": {"query": "{ me { username } }"}}',
    "query not a string": '{"id": "1", "type": "subscribe", "payload": {"query": 123}}',
    "variables not an object": (
        '{"id": "1", "type": "subscribe", "payload": {"query": "{ me { username } }", '
        '"variables": [1]}}'
    ),
    "unknown type": '{"type": "bogus"}',
    "deep message of no operation": '{"type": "ping", "payload": ' + nested(5000) + "}",
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_transport_message_closes_with_4400(
    service: ServiceProcess, token: str, case: str
) -> None:
    async with raw_socket(service.url, token, TRANSPORT_WS) as socket:
        await socket.ws.send(MALFORMED[case])
        await assert_healthz_answers(service.url)
        code, _ = await socket.closed_with(timeout=15)
    assert code == 4400


LEGACY_MALFORMED = {
    "a JSON array": "[]",
    "unknown type": '{"type": "bogus"}',
    "query not a string": '{"id": "1", "type": "start", "payload": {"query": 123}}',
    "start without payload": '{"id": "1", "type": "start"}',
}


@pytest.mark.parametrize("case", list(LEGACY_MALFORMED))
async def test_malformed_legacy_message_gets_an_error(
    service: ServiceProcess, token: str, case: str
) -> None:
    # The legacy protocol answers with an error message and keeps the socket.
    async with raw_socket(service.url, token, LEGACY_WS) as socket:
        await socket.ws.send(LEGACY_MALFORMED[case])
        await assert_healthz_answers(service.url)
        answer = await socket.next_message()
        assert error_codes(answer) == ["BAD_REQUEST"]
        await socket.send_operation("after", "subscription { nope }")
        after = await socket.next_message()
        assert after["id"] == "after", after
