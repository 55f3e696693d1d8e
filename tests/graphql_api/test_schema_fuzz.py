"""Property-based fuzzing of the whole schema over HTTP against `scriptbox
serve`: documents generated from the SDL (valid ones, and invalid ones), with
and without a token. Whatever a client sends, the answer is never a 5xx and
never INTERNAL_SERVER_ERROR.

hypothesis-graphql generates the documents: it is a small library of
Hypothesis strategies (schemathesis's GraphQL support is built on it), so the
test keeps its own HTTP client, token and assertions, with no second test
runner. Every bad answer of a run is collected (not only the first), so one
run lists them all.

Size: SCRIPTBOX_FUZZ_EXAMPLES cases (default 150 in `make test`; `make fuzz`
raises it), each request bounded by a timeout."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from roles.admin import schema_sdl
from tests.support.client import PASSWORD, REGISTER, unique_username
from tests.support.owners import owned_name
from tests.support.processes import ServiceProcess, cli_environment

EXAMPLES = int(os.environ.get("SCRIPTBOX_FUZZ_EXAMPLES", "150"))
REQUEST_TIMEOUT = 60.0

# JSON values as GraphQL literals: what a client can put in `input`, `inputs`.
JSON_LEAVES = st.one_of(
    st.none().map(lambda _: graphql.NullValueNode()),
    st.booleans().map(nodes.Boolean),
    st.integers(-(2**40), 2**40).map(nodes.Int),
    st.text(max_size=20).map(nodes.String),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(nodes.List),
        st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), inner, max_size=3).map(
            lambda d: nodes.Object(
                [
                    graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v)
                    for k, v in d.items()
                ]
            )
        ),
    ),
    max_leaves=8,
)
CUSTOM_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "JSON": JSON_VALUES,
    "DateTime": st.one_of(
        st.datetimes().map(lambda d: nodes.String(d.isoformat())),
        st.text(max_size=10).map(nodes.String),
    ),
    "Date": st.one_of(
        st.dates().map(lambda d: nodes.String(d.isoformat())),
        st.text(max_size=10).map(nodes.String),
    ),
    # A JSON request body cannot carry a file; the server must refuse what it gets.
    "Upload": st.text(max_size=10).map(nodes.String),
}


@dataclass
class Finding:
    document: str
    with_token: bool
    status: int
    body: str


@dataclass
class Findings:
    cases: int = 0
    seen: set[tuple[int, str]] = field(default_factory=set)
    found: list[Finding] = field(default_factory=list)

    def record(self, document: str, with_token: bool, response: httpx.Response) -> None:
        self.cases += 1
        problem = _problem(response)
        if problem is None:
            return
        # One finding per kind of failure, with the first document that showed it.
        key = (response.status_code, problem)
        if key not in self.seen:
            self.seen.add(key)
            self.found.append(Finding(document, with_token, response.status_code, response.text))


def _problem(response: httpx.Response) -> str | None:
    if response.status_code >= 500:
        return response.text[:200]
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]}"
    if not isinstance(body, dict):
        return "not a JSON object"
    for error in body.get("errors") or []:
        if (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR":
            return f"INTERNAL_SERVER_ERROR at {error.get('path')}"
        if not (error.get("extensions") or {}).get("code"):
            return f"no extensions.code: {error.get('message')}"
    return None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    process = ServiceProcess(
        cli_environment(
            data_dir,
            SCRIPTBOX_WARM_POOL_SIZE="1",
            SCRIPTBOX_WORKER_NAME=owned_name(f"fuzz-{data_dir.name}"),
        ),
        console_script=True,
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _documents() -> st.SearchStrategy[str]:
    """One top-level field per document, each field equally likely: a rare
    field is tried as often as a common one. Valid documents, and invalid
    ones (wrong types, missing arguments) as hypothesis-graphql's negative
    mode makes them."""
    schema = graphql.build_schema(schema_sdl())
    per_field: list[st.SearchStrategy[object]] = []
    for make, root in ((queries, schema.query_type), (mutations, schema.mutation_type)):
        assert root is not None
        for name, definition in sorted(root.fields.items()):
            # A field without arguments has nothing to get wrong.
            modes = (Mode.POSITIVE, Mode.NEGATIVE) if definition.args else (Mode.POSITIVE,)
            for mode in modes:
                per_field.append(
                    make(schema, fields=[name], custom_scalars=CUSTOM_SCALARS, mode=mode)
                )
    return st.one_of(per_field).map(str)


# Operations that take variables: valid documents whose variables are any
# JSON at all (lone surrogates, NUL, deep nesting, wrong types), sent as JSON
# text a client could send.
WITH_VARIABLES = {
    "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { accessToken } }": (
        "u",
        "p",
    ),
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }": (
        "u",
        "p",
    ),
    "mutation($n: String!, $p: ID) { createFolder(name: $n, parentId: $p) { id } }": ("n", "p"),
    "mutation($i: CreateScriptInput!) { createScript(input: $i) { id } }": ("i",),
    "mutation($id: ID!, $i: UpdateScriptInput!) { updateScript(id: $id, input: $i) { id } }": (
        "id",
        "i",
    ),
    "mutation($i: RunScriptInput!) { runScript(input: $i) { id } }": ("i",),
    "mutation($n: String!, $v: String!) { setSecret(name: $n, value: $v) { name } }": ("n", "v"),
    "mutation($i: CreateScheduleInput!) { createSchedule(input: $i) { id } }": ("i",),
    "mutation($x: [JSON!]!, $p: String) { runBatch(inputs: $x, path: $p) { id } }": ("x", "p"),
    "query($p: String, $s: ID) { script(path: $p, id: $s) { id } }": ("p", "s"),
    "query($d: Int!, $z: String!) { executionStats(days: $d, timeZone: $z) { day } }": ("d", "z"),
}
# Mostly ordinary text, which passes the input checks and reaches the
# resolvers; sometimes any code point at all (lone surrogates, NUL).
ANY_TEXT = st.text(max_size=30) | st.text(st.characters(exclude_categories=()), max_size=30)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
# Input objects with their real field names, so values reach the resolvers.
INPUT_FIELDS = [
    "name",
    "content",
    "folderId",
    "language",
    "description",
    "secrets",
    "requirements",
    "scriptId",
    "path",
    "input",
    "files",
    "wait",
    "cron",
    "timezone",
    "enabled",
    "timeoutSeconds",
    "replace",
]
ANY_INPUT = st.dictionaries(st.sampled_from(INPUT_FIELDS), ANY_JSON, max_size=6)


@st.composite
def _requests(draw: st.DrawFn) -> str:
    document = draw(st.sampled_from(sorted(WITH_VARIABLES)))
    variables = {
        name: draw(ANY_INPUT if name == "i" else st.one_of(ANY_TEXT, ANY_TEXT, ANY_JSON))
        for name in WITH_VARIABLES[document]
    }
    # json.dumps escapes lone surrogates as \ud800: valid JSON a client can send.
    return json.dumps({"query": document, "variables": variables})


def test_no_variables_get_a_server_error(served: ServiceProcess) -> None:
    findings = Findings()
    started = time.monotonic()
    with httpx.Client(base_url=served.url, timeout=REQUEST_TIMEOUT) as http:
        token = _token(http)

        @_fuzz_settings
        @given(body=_requests(), with_token=st.booleans())
        def fuzz(body: str, with_token: bool) -> None:
            headers = {"Content-Type": "application/json"}
            if with_token:
                headers["Authorization"] = f"Bearer {token}"
            response = http.post("/graphql", content=body.encode(), headers=headers)
            findings.record(body, with_token, response)

        fuzz()
    _assert_none_found(findings, time.monotonic() - started)


def _token(http: httpx.Client) -> str:
    account = {"u": unique_username("fuzz"), "p": PASSWORD}
    registered = http.post("/graphql", json={"query": REGISTER, "variables": account}).json()
    return str(registered["data"]["register"]["accessToken"])


def _assert_none_found(findings: Findings, elapsed: float) -> None:
    print(f"fuzz: {findings.cases} cases in {elapsed:.1f} s, {len(findings.found)} findings")
    report: list[dict[str, Any]] = [f.__dict__ for f in findings.found]
    assert not findings.found, json.dumps(report, indent=2)[:20000]


_fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_no_document_gets_a_server_error(served: ServiceProcess) -> None:
    findings = Findings()
    started = time.monotonic()
    with httpx.Client(base_url=served.url, timeout=REQUEST_TIMEOUT) as http:
        token = _token(http)

        @_fuzz_settings
        @given(document=_documents(), with_token=st.booleans())
        def fuzz(document: str, with_token: bool) -> None:
            headers = {"Authorization": f"Bearer {token}"} if with_token else {}
            response = http.post("/graphql", json={"query": document}, headers=headers)
            findings.record(document, with_token, response)

        fuzz()
    _assert_none_found(findings, time.monotonic() - started)
