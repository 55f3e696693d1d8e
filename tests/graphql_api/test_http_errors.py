"""Client mistakes over HTTP against the served process (`scriptbox serve`,
uvicorn with uvloop, PostgreSQL): each one is a GraphQL error with a stable
`extensions.code` and the status the GraphQL-over-HTTP spec gives, and
nothing the mistake carried reaches the database."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from graphql_api.client_input import MAX_JSON_VALUES
from harness.postgres import fresh_postgres_database
from tests.support.client import PASSWORD, GraphQLClient, registered
from tests.support.processes import ServiceProcess, cli_environment

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServiceProcess]:
    async with fresh_postgres_database() as database_url:
        env = cli_environment(
            tmp_path_factory.mktemp("http-errors"), SCRIPTBOX_DATABASE_URL=database_url
        )
        process = ServiceProcess(env).start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture(scope="module")
async def alice(served: ServiceProcess) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=60) as http:
        client = await registered(GraphQLClient(served.url, None, http), "alice")
        await client.data(
            'mutation { createScript(input: {name: "target.py", content: "x = 1"}) { id } }'
        )
        yield client


def first_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    assert error["message"]
    return error


def code_of(response: httpx.Response) -> str:
    return str(first_error(response).get("extensions", {}).get("code"))


def media_type(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "")).split(";")[0].strip()


async def post_raw(
    alice: GraphQLClient, content: bytes, content_type: str | None = JSON, **headers: str
) -> httpx.Response:
    all_headers = {**alice.headers(), **headers}
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    return await alice.http.post(alice.url, content=content, headers=all_headers)


# --- Malformed requests ------------------------------------------------------

MALFORMED_BODIES = {
    "not JSON": (b"{ not json", JSON),
    "empty": (b"", JSON),
    "not UTF-8": (b'{"query": "{ me { id } }", "x": "\xff\xfe"}', JSON),
    "a JSON array": (b'[{"query": "{ me { id } }"}]', JSON),
    "a JSON string": (b'"{ me { id } }"', JSON),
    "no query": (b'{"variables": {}}', JSON),
    "query is a number": (b'{"query": 5}', JSON),
    "query is an object": (b'{"query": {"a": 1}}', JSON),
    "variables is a string": (b'{"query": "{ me { id } }", "variables": "{}"}', JSON),
    "variables is a list": (b'{"query": "{ me { id } }", "variables": []}', JSON),
    "operationName is a number": (b'{"query": "{ me { id } }", "operationName": 1}', JSON),
    "extensions is a list": (b'{"query": "{ me { id } }", "extensions": []}', JSON),
}


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize("case", list(MALFORMED_BODIES))
async def test_a_malformed_body_is_a_coded_400(
    alice: GraphQLClient, case: str, accept: str
) -> None:
    content, content_type = MALFORMED_BODIES[case]
    response = await post_raw(alice, content, content_type, Accept=accept)
    assert response.status_code == 400, response.text
    assert media_type(response) == accept
    assert code_of(response) == "BAD_REQUEST"
    assert "data" not in response.json()  # a request error: nothing was executed


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_an_unsupported_media_type_is_a_coded_415(
    alice: GraphQLClient, content_type: str | None
) -> None:
    response = await post_raw(alice, b'{"query": "{ me { id } }"}', content_type)
    assert response.status_code == 415, response.text
    assert code_of(response) == "UNSUPPORTED_MEDIA_TYPE"
    assert media_type(response) == JSON


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_another_method_is_a_coded_405(alice: GraphQLClient, method: str) -> None:
    response = await alice.http.request(
        method, alice.url, content=b'{"query": "{ __typename }"}', headers=alice.headers()
    )
    assert response.status_code == 405, response.text
    assert code_of(response) == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"] == "GET, POST"


async def test_a_mutation_over_get_is_a_coded_405_and_does_nothing(alice: GraphQLClient) -> None:
    response = await alice.http.get(
        alice.url,
        params={"query": 'mutation { createFolder(name: "via-get") { id } }'},
        headers={**alice.headers(), "Accept": JSON},
    )
    assert response.status_code == 405, response.text
    assert code_of(response) == "METHOD_NOT_ALLOWED"
    assert "POST" in response.headers.get("allow", "")
    assert "via-get" not in json.dumps(await alice.data(SNAPSHOT))


@pytest.mark.parametrize(
    "params",
    [
        {"query": "{ me { id } }", "variables": "{ nope"},
        {"query": "{ me { id } }", "variables": "[1]"},
        {"query": "{ me { id } }", "extensions": "5"},
        {"variables": "{}"},
    ],
    ids=["variables not JSON", "variables a list", "extensions a number", "no query"],
)
async def test_malformed_get_parameters_are_a_coded_400(
    alice: GraphQLClient, params: dict[str, str]
) -> None:
    response = await alice.http.get(
        alice.url, params=params, headers={**alice.headers(), "Accept": JSON}
    )
    assert response.status_code == 400, response.text
    assert code_of(response) == "BAD_REQUEST"


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
async def test_an_oversized_body_is_a_coded_413_in_the_accepted_media_type(
    alice: GraphQLClient, accept: str
) -> None:
    padding = b" " * (4 * 1024 * 1024)  # the default cap, SCRIPTBOX_MAX_JSON_BODY_BYTES
    response = await post_raw(alice, b'{"query": "{ me { id } }"}' + padding, Accept=accept)
    assert response.status_code == 413, response.text
    assert code_of(response) == "PAYLOAD_TOO_LARGE"
    assert media_type(response) == accept


async def test_an_oversized_streamed_body_is_cut_off_with_a_coded_413(
    alice: GraphQLClient,
) -> None:
    """No Content-Length to refuse by: the cap cuts the stream as it passes."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ me { id } }"}'
        for _ in range(5):
            yield b" " * (1024 * 1024)

    headers = {**alice.headers(), "Content-Type": JSON, "Accept": JSON}
    response = await alice.http.post(alice.url, content=chunks(), headers=headers)
    assert response.status_code == 413, response.text
    assert code_of(response) == "PAYLOAD_TOO_LARGE"


def multipart(parts: list[tuple[str, str | None, bytes]], *, closed: bool = True) -> bytes:
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += content + b"\r\n"
    return body + (f"--{BOUNDARY}--\r\n".encode() if closed else b"")


BOUNDARY = "scriptbox-edge-boundary"
UPLOAD = json.dumps(
    {"query": "mutation($f: Upload!) { uploadFile(file: $f) { key } }", "variables": {"f": None}}
).encode()
MAP = b'{"0": ["variables.f"]}'
FILE = ("0", "a.txt", b"hello")

MALFORMED_MULTIPART = {
    "operations not JSON": [("operations", None, b"{ nope"), ("map", None, MAP), FILE],
    "operations a number": [("operations", None, b"5"), ("map", None, MAP), FILE],
    "no operations": [("map", None, MAP), FILE],
    "map not JSON": [("operations", None, UPLOAD), ("map", None, b"nope"), FILE],
    "map names a missing file": [
        ("operations", None, UPLOAD),
        ("map", None, b'{"1": ["variables.f"]}'),
        FILE,
    ],
    "map points nowhere": [
        ("operations", None, UPLOAD),
        ("map", None, b'{"0": ["variables.nope.deeper"]}'),
        FILE,
    ],
}


@pytest.mark.parametrize("case", list(MALFORMED_MULTIPART))
async def test_a_malformed_multipart_request_is_a_coded_400(
    alice: GraphQLClient, case: str
) -> None:
    response = await post_raw(
        alice,
        multipart(MALFORMED_MULTIPART[case]),
        f"multipart/form-data; boundary={BOUNDARY}",
    )
    assert response.status_code == 400, response.text
    assert code_of(response) == "MALFORMED_MULTIPART"
    assert (await alice.data("{ files { key } }"))["files"] == []


async def test_a_cut_off_multipart_body_is_a_coded_400(alice: GraphQLClient) -> None:
    body = multipart([("operations", None, UPLOAD), ("map", None, MAP)], closed=False)
    body += f"--{BOUNDARY}\r\n".encode()
    body += b'Content-Disposition: form-data; name="0"; filename="a"\r\n\r\n' + b"x" * 1000
    response = await post_raw(alice, body, f"multipart/form-data; boundary={BOUNDARY}")
    assert response.status_code == 400, response.text
    assert code_of(response) == "MALFORMED_MULTIPART"


# --- Operation selection -----------------------------------------------------

TWO_MUTATIONS = (
    'mutation A { createFolder(name: "op-a") { id } } '
    'mutation B { createFolder(name: "op-b") { id } }'
)


@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GRAPHQL_RESPONSE, 400)])
async def test_two_operations_without_a_name_are_refused(
    alice: GraphQLClient, accept: str, status: int
) -> None:
    before = await alice.data(SNAPSHOT)
    response = await alice.post(TWO_MUTATIONS, Accept=accept)
    assert response.status_code == status, response.text
    assert media_type(response) == accept
    assert code_of(response) == "OPERATION_NAME_REQUIRED"
    assert await alice.data(SNAPSHOT) == before


async def test_an_unknown_operation_name_is_refused(alice: GraphQLClient) -> None:
    response = await alice.http.post(
        alice.url,
        json={"query": TWO_MUTATIONS, "operationName": "C"},
        headers={**alice.headers(), "Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 400, response.text
    assert code_of(response) == "OPERATION_NOT_FOUND"


async def test_a_named_operation_of_several_runs_alone(alice: GraphQLClient) -> None:
    response = await alice.http.post(
        alice.url,
        json={"query": TWO_MUTATIONS, "operationName": "B"},
        headers={**alice.headers(), "Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200, response.text
    assert media_type(response) == GRAPHQL_RESPONSE
    folders = [f["path"] for f in (await alice.data(SNAPSHOT))["tree"]["folders"]]
    assert "op-b" in folders and "op-a" not in folders


# --- Deep JSON ---------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def with_healthz(served: ServiceProcess, request: Any) -> httpx.Response:
    """Sends `request` and, while it is in flight, asks /healthz with a 1 s deadline."""
    async with httpx.AsyncClient(timeout=1) as probe:
        hostile = asyncio.ensure_future(request)
        health = await probe.get(f"{served.url}/healthz")
        assert health.status_code == 200
        response: httpx.Response = await asyncio.wait_for(hostile, 60)
        return response


@pytest.mark.parametrize("depth", [100, 5000])
async def test_deeply_nested_variables_are_bad_user_input(
    alice: GraphQLClient, served: ServiceProcess, depth: int
) -> None:
    body = (
        '{"query": "mutation($i: JSON) { runScript(input: {path: \\"target.py\\", input: $i}) '
        '{ id } }", "variables": {"i": ' + nested(depth) + "}}"
    ).encode()
    response = await with_healthz(served, post_raw(alice, body))
    assert response.status_code == 400, response.text
    assert code_of(response) == "BAD_USER_INPUT"
    assert "nested too deeply" in first_error(response)["message"]


async def post_while_healthz_answers(
    alice: GraphQLClient, served: ServiceProcess, body: bytes
) -> httpx.Response:
    """Posts `body`, asking /healthz every 50 ms meanwhile: each must answer within 1 s."""
    hostile = asyncio.ensure_future(post_raw(alice, body))
    async with httpx.AsyncClient(timeout=1) as probe:
        while not hostile.done():
            health = await probe.get(f"{served.url}/healthz")
            assert health.status_code == 200
            await asyncio.sleep(0.05)
    response: httpx.Response = await asyncio.wait_for(hostile, 60)
    return response


def many_values(count: int) -> bytes:
    items = ",".join(["[]"] * count)
    return ('{"query": "{ __typename }", "variables": {"a": [' + items + "]}}").encode()


async def test_a_body_of_a_million_small_values_is_refused_unread(
    alice: GraphQLClient, served: ServiceProcess
) -> None:
    # Under the byte cap, but a second of CPU to decode (which holds the GIL).
    response = await post_while_healthz_answers(alice, served, many_values(1_300_000))
    assert response.status_code == 413, response.text
    assert code_of(response) == "PAYLOAD_TOO_LARGE"
    assert f"{MAX_JSON_VALUES:,} JSON values" in first_error(response)["message"]


async def test_a_body_of_many_values_under_the_cap_is_served(
    alice: GraphQLClient, served: ServiceProcess
) -> None:
    response = await post_while_healthz_answers(alice, served, many_values(MAX_JSON_VALUES))
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize("depth", [100, 5000])
async def test_deeply_nested_rest_body_is_bad_user_input(
    alice: GraphQLClient, served: ServiceProcess, depth: int
) -> None:
    request = alice.http.post(
        f"{served.url}/api/v1/scripts/target.py",
        content=('{"data": ' + nested(depth) + "}").encode(),
        headers={**alice.headers(), "Content-Type": JSON},
    )
    response = await with_healthz(served, request)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "BAD_USER_INPUT"
    assert (await alice.data("{ executions { id } }"))["executions"] == []


# --- Lone surrogates and NUL -------------------------------------------------

SNAPSHOT = """{
  tree { folders { path } scripts { name description content } }
  secrets { name }
  schedules { id name }
  executions { id }
}"""

# Each field: (variable type, the mutation with $v, the same with an inline literal L).
FIELDS = {
    "folder name": ("String!", "createFolder(name: $v) { id }"),
    "script content": ("String", 'createScript(input: {name: "c.py", content: $v}) { id }'),
    "description": (
        "String",
        'createScript(input: {name: "d.py", content: "x = 1", description: $v}) { id }',
    ),
    "secret value": ("String!", 'setSecret(name: "S1", value: $v) { name }'),
    "schedule name": (
        "String",
        'createSchedule(input: {path: "target.py", cron: "0 0 * * *", name: $v}) { id }',
    ),
    "run input": ("JSON", 'runScript(input: {path: "target.py", input: {k: $v}}) { id }'),
}

BAD_STRINGS = {"lone surrogate": "a\ud800b", "NUL": "a\x00b"}
# The same characters as GraphQL escapes inside the document.
GRAPHQL_ESCAPES = {"lone surrogate": "\\ud800", "NUL": "\\u0000"}


async def assert_refused_and_nothing_written(
    alice: GraphQLClient, body: dict[str, Any], codes: tuple[str, ...] = ("BAD_USER_INPUT",)
) -> None:
    before = await alice.data(SNAPSHOT)
    # json.dumps escapes a lone surrogate as "\ud800", as a browser would.
    response = await post_raw(alice, json.dumps(body).encode())
    assert response.status_code in (200, 400), response.text
    assert code_of(response) in codes, response.text
    assert await alice.data(SNAPSHOT) == before


@pytest.mark.parametrize("bad", list(BAD_STRINGS))
@pytest.mark.parametrize("field", list(FIELDS))
async def test_bad_strings_in_variables_are_refused(
    alice: GraphQLClient, field: str, bad: str
) -> None:
    var_type, selection = FIELDS[field]
    value: Any = BAD_STRINGS[bad]
    if field == "run input":
        selection = selection.replace("{k: $v}", "$v")
        value = {"k": value}
    await assert_refused_and_nothing_written(
        alice, {"query": f"mutation($v: {var_type}) {{ {selection} }}", "variables": {"v": value}}
    )


@pytest.mark.parametrize("bad", list(BAD_STRINGS))
@pytest.mark.parametrize("field", list(FIELDS))
async def test_bad_strings_in_inline_literals_are_refused(
    alice: GraphQLClient, field: str, bad: str
) -> None:
    # The character itself inside the document's text.
    literal = f'"{BAD_STRINGS[bad]}"'
    selection = FIELDS[field][1].replace("$v", literal)
    await assert_refused_and_nothing_written(alice, {"query": f"mutation {{ {selection} }}"})


@pytest.mark.parametrize("bad", list(GRAPHQL_ESCAPES))
@pytest.mark.parametrize("field", list(FIELDS))
async def test_bad_graphql_escapes_in_inline_literals_are_refused(
    alice: GraphQLClient, field: str, bad: str
) -> None:
    selection = FIELDS[field][1].replace("$v", f'"a{GRAPHQL_ESCAPES[bad]}b"')
    await assert_refused_and_nothing_written(
        alice,
        {"query": f"mutation {{ {selection} }}"},
        ("BAD_USER_INPUT", "GRAPHQL_PARSE_FAILED"),
    )


async def test_a_nul_in_a_get_query_is_refused(alice: GraphQLClient) -> None:
    response = await alice.http.get(
        alice.url,
        params={"query": '{ script(path: "a\x00b") { id } }'},
        headers={**alice.headers(), "Accept": JSON},
    )
    assert response.status_code == 400, response.text
    assert code_of(response) == "BAD_USER_INPUT"


@pytest.mark.parametrize("value", ['"a\\ud800b"', '"a\\u0000b"'], ids=["lone surrogate", "NUL"])
async def test_bad_strings_in_a_rest_run_input_are_refused(
    alice: GraphQLClient, served: ServiceProcess, value: str
) -> None:
    response = await alice.http.post(
        f"{served.url}/api/v1/scripts/target.py",
        content=('{"data": {"k": ' + value + "}}").encode(),
        headers={**alice.headers(), "Content-Type": JSON},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "BAD_USER_INPUT"
    assert (await alice.data("{ executions { id } }"))["executions"] == []


REGISTER_WITH = (
    "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { user { id } } }"
)


@pytest.mark.parametrize(
    "password_json", ['"a\\ud800b"', '"a\\u0000b"'], ids=["lone surrogate", "NUL"]
)
async def test_bad_strings_in_a_password_are_refused_and_no_account_is_made(
    alice: GraphQLClient, password_json: str
) -> None:
    username = f"pw-{secrets.token_hex(4)}"
    body = (
        '{"query": ' + json.dumps(REGISTER_WITH) + ', "variables": {"u": "' + username + '", '
        '"p": ' + password_json + "}}"
    ).encode()
    response = await post_raw(alice.with_token(None), body)
    assert code_of(response) == "BAD_USER_INPUT", response.text
    inline = (
        f'mutation {{ register(username: "{username}", password: {password_json}) '
        "{ user { id } } }"
    )
    response = await alice.http.post(alice.url, json={"query": inline})
    assert code_of(response) in ("BAD_USER_INPUT", "GRAPHQL_PARSE_FAILED"), response.text
    # The name is still free: no account was made.
    fresh = await alice.with_token(None).data(REGISTER_WITH, {"u": username, "p": PASSWORD})
    assert fresh["register"]["user"]["id"]


# --- Crons that never fire ---------------------------------------------------

CREATE_SCHEDULE = (
    'mutation($cron: String!) { createSchedule(input: {path: "target.py", cron: $cron}) '
    "{ id cron nextRuns(count: 2) } }"
)


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4 *", "0 0 0 30 2 *"])
async def test_a_cron_that_never_fires_is_bad_user_input(alice: GraphQLClient, cron: str) -> None:
    before = await alice.data(SNAPSHOT)
    error = await alice.error(CREATE_SCHEDULE, {"cron": cron})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "never fires" in error["message"]
    assert await alice.data(SNAPSHOT) == before


async def test_updating_a_schedule_to_a_cron_that_never_fires_is_refused(
    alice: GraphQLClient,
) -> None:
    schedule = (await alice.data(CREATE_SCHEDULE, {"cron": "0 0 29 2 *"}))["createSchedule"]
    assert len(schedule["nextRuns"]) == 2  # leap days: rare, but they come
    error = await alice.error(
        'mutation($id: ID!) { updateSchedule(id: $id, input: {cron: "0 0 30 2 *"}) { id } }',
        {"id": schedule["id"]},
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "never fires" in error["message"]
    after = await alice.data("{ schedules { id cron } }")
    assert {"id": schedule["id"], "cron": "0 0 29 2 *"} in after["schedules"]
    await alice.data("mutation($id: ID!) { deleteSchedule(id: $id) }", {"id": schedule["id"]})
