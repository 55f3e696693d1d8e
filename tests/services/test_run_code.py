"""`runCode` over GraphQL: code that is not in the tree runs in the same
sandbox, with the same checks as a saved script (syntax, size, the queue
limit), and its execution keeps exactly the code that ran."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.busy_worker import busy_worker
from tests.support.client import GraphQLClient, user_at
from tests.support.processes import own_service
from tests.support.runs import CANCEL, EXECUTION_FIELDS, GET
from tests.support.servers import Service
from tests.support.tree import CREATE_FOLDER

pytestmark = pytest.mark.docker

RUN_CODE = f"""
mutation($input: RunCodeInput!) {{ runCode(input: $input) {{
  {EXECUTION_FIELDS} code {{ language content sha256 size }} }} }}
"""
RUN_CODE_ID = "mutation($input: RunCodeInput!) { runCode(input: $input) { id status } }"
HISTORY = """
{ executions(first: 10) { id script { id } scriptVersion code { language content } } }
"""
CREATE_TOKEN = """
mutation($s: [TokenScope!]!, $f: String) {
  createApiToken(name: "ci", scopes: $s, folderPath: $f) { token } }
"""
PYTHON = "def main(data):\n    print('twice', data['n'])\n    return {'n': data['n'] * 2}\n"
JAVASCRIPT = (
    "export function main(data) {\n"
    "  console.log('twice', data.n);\n"
    "  return { n: data.n * 2 };\n"
    "}\n"
)


async def run_code(client: GraphQLClient, language: str, content: str, **extra: Any) -> Any:
    variables = {"input": {"language": language, "content": content, "wait": True, **extra}}
    return (await client.data(RUN_CODE, variables))["runCode"]


@pytest.mark.parametrize(("language", "content"), [("PYTHON", PYTHON), ("JAVASCRIPT", JAVASCRIPT)])
async def test_code_runs_and_its_execution_keeps_it(
    alice: GraphQLClient, language: str, content: str
) -> None:
    execution = await run_code(alice, language, content, input={"n": 21})
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == {"n": 42}
    assert execution["stdout"] == "twice 21\n"
    assert execution["script"] is None and execution["scriptVersion"] is None
    assert execution["code"] == {
        "language": language,
        "content": content,
        "sha256": hashlib.sha256(content.encode()).hexdigest(),
        "size": len(content.encode()),
    }
    # History shows what ran.
    again = (await alice.data(GET, {"id": execution["id"]}))["execution"]
    assert again["status"] == "SUCCEEDED"
    listed = (await alice.data(HISTORY))["executions"]
    assert listed[0] == {
        "id": execution["id"],
        "script": None,
        "scriptVersion": None,
        "code": {"language": language, "content": content},
    }


async def test_a_shell_program_reads_its_input(alice: GraphQLClient) -> None:
    content = 'read -r line\necho "got $line"\necho \'{"ok": true}\' > "$SCRIPTBOX_RESULT"\n'
    execution = await run_code(alice, "SHELL", content, input=[1, 2])
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["stdout"] == "got [1,2]\n"
    assert execution["result"] == {"ok": True}


async def test_a_run_of_code_is_seen_by_its_starter_only(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    execution = await run_code(alice, "PYTHON", PYTHON, input={"n": 1})
    assert (await bob.data(GET, {"id": execution["id"]}))["execution"] is None
    assert (await bob.data(HISTORY))["executions"] == []
    assert (await bob.error(CANCEL, {"id": execution["id"]}))["extensions"]["code"] == "NOT_FOUND"


async def test_an_admin_sees_it_and_a_script_run_still_names_its_script(
    alice: GraphQLClient, admin: GraphQLClient
) -> None:
    execution = await run_code(alice, "PYTHON", PYTHON, input={"n": 1})
    seen = (await admin.data(GET, {"id": execution["id"]}))["execution"]
    assert seen["id"] == execution["id"] and seen["script"] is None


@pytest.mark.parametrize(
    ("language", "content", "line"),
    [
        ("PYTHON", "x = 1\n\ndef main(data:\n    return 1\n", 3),
        ("SHELL", "echo one\nif true; then\n", 3),
        ("JAVASCRIPT", "import fs from 'node:fs';\nexport const main = () => 1 +;\n", 2),
    ],
)
async def test_invalid_code_is_refused_with_its_line_and_nothing_runs(
    alice: GraphQLClient, language: str, content: str, line: int
) -> None:
    variables = {"input": {"language": language, "content": content}}
    error = await alice.error(RUN_CODE_ID, variables)
    assert error["extensions"]["code"] == "INVALID_SCRIPT", error
    assert error["extensions"]["line"] == line, error
    assert (await alice.data(HISTORY))["executions"] == []


async def test_code_over_the_script_size_cap_is_refused(
    alice: GraphQLClient, service: Service
) -> None:
    cap = service.settings.max_script_bytes
    variables = {"input": {"language": "PYTHON", "content": "#" * (cap + 1)}}
    error = await alice.error(RUN_CODE_ID, variables)
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE", error
    assert (await alice.data(HISTORY))["executions"] == []


async def test_a_nul_character_is_refused(alice: GraphQLClient) -> None:
    # No database text column can hold one (PostgreSQL's cannot).
    variables = {"input": {"language": "SHELL", "content": "echo a\0b\n"}}
    error = await alice.error(RUN_CODE_ID, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert (await alice.data(HISTORY))["executions"] == []


async def test_input_and_timeout_are_checked_as_for_run_script(alice: GraphQLClient) -> None:
    too_long = {"input": {"language": "PYTHON", "content": PYTHON, "timeoutSeconds": 10_000}}
    assert (await alice.error(RUN_CODE_ID, too_long))["extensions"]["code"] == "BAD_USER_INPUT"
    no_file = {"input": {"language": "PYTHON", "content": PYTHON, "files": ["nope.csv"]}}
    assert (await alice.error(RUN_CODE_ID, no_file))["extensions"]["code"] == "NOT_FOUND"


async def test_code_times_out_as_a_script_does(alice: GraphQLClient) -> None:
    content = "for (;;) {}\n"
    execution = await run_code(alice, "JAVASCRIPT", content, timeoutSeconds=1)
    assert execution["status"] == "TIMED_OUT", execution
    assert execution["error"]["code"] == "TIMEOUT"


async def test_tokens_need_write_and_their_whole_tree(alice: GraphQLClient) -> None:
    async def through(scopes: list[str], folder: str | None = None) -> GraphQLClient:
        data = await alice.data(CREATE_TOKEN, {"s": scopes, "f": folder})
        return alice.with_token(data["createApiToken"]["token"])

    variables = {"input": {"language": "PYTHON", "content": PYTHON, "input": {"n": 1}}}
    run_only = await through(["READ", "RUN"])
    assert (await run_only.error(RUN_CODE_ID, variables))["extensions"]["code"] == "FORBIDDEN"
    await alice.data(CREATE_FOLDER, {"name": "shared"})
    held_to_folder = await through(["READ", "RUN", "WRITE"], "shared")
    error = await held_to_folder.error(RUN_CODE_ID, variables)
    assert error["extensions"]["code"] == "FORBIDDEN", error
    writer = await through(["READ", "RUN", "WRITE"])
    assert (await writer.data(RUN_CODE_ID, variables))["runCode"]["status"] == "QUEUED"


@pytest.fixture
async def one_slot_one_run(tmp_path: Path) -> AsyncIterator[GraphQLClient]:
    async with (
        own_service(
            tmp_path, SCRIPTBOX_WORKER_CONCURRENCY="1", SCRIPTBOX_MAX_QUEUED_PER_USER="2"
        ) as running,
        user_at(running.url, "code") as client,
    ):
        yield client


async def test_runs_of_code_count_toward_the_queue_limit(one_slot_one_run: GraphQLClient) -> None:
    client = one_slot_one_run
    async with busy_worker(client):  # one run of the two allowed
        variables = {"input": {"language": "PYTHON", "content": PYTHON, "input": {"n": 1}}}
        queued = (await client.data(RUN_CODE_ID, variables))["runCode"]
        assert queued["status"] == "QUEUED"
        error = await client.error(RUN_CODE_ID, variables)
        assert error["extensions"]["code"] == "RATE_LIMITED", error
        await client.data(CANCEL, {"id": queued["id"]})
