"""JavaScript scripts over GraphQL: saved as `.js` or `.mjs` (or with
`language: JAVASCRIPT`), syntax-checked on save with `node --check`, run in
the sandbox with main() as an ES module or CommonJS."""

from __future__ import annotations

import pytest

from tests.support.client import GraphQLClient
from tests.support.runs import RUN, run
from tests.support.tree import CREATE_SCRIPT, UPDATE_SCRIPT, script

pytestmark = pytest.mark.docker

ESM = (
    "import { setTimeout as sleep } from 'node:timers/promises';\n"
    "export async function main(data) {\n"
    "  await sleep(5);\n"
    "  console.log('depth', data.depth);\n"
    "  return { depth: data.depth * 2 };\n"
    "}\n"
)
COMMONJS = (
    "module.exports.main = (data) => {\n"
    "  console.log('depth', data.depth);\n"
    "  return { depth: data.depth * 2 };\n"
    "};\n"
)


@pytest.mark.parametrize(
    ("name", "content"),
    [("deep.js", ESM), ("deep.mjs", ESM), ("deep.js", COMMONJS)],
    ids=["esm-js", "esm-mjs", "commonjs-js"],
)
async def test_a_javascript_script_runs_main(alice: GraphQLClient, name: str, content: str) -> None:
    execution = await run(alice, content, name=name, input={"depth": 21})
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == {"depth": 42}
    assert execution["stdout"] == "depth 21\n"


async def test_the_language_is_inferred_from_the_name_or_given(alice: GraphQLClient) -> None:
    inferred = await script(alice, "tool.mjs", COMMONJS)
    assert inferred["language"] == "JAVASCRIPT"
    given = await script(alice, "tool", COMMONJS, language="JAVASCRIPT")
    assert given["language"] == "JAVASCRIPT"
    ran = await alice.data(
        RUN, {"input": {"scriptId": given["id"], "input": {"depth": 1}, "wait": True}}
    )
    assert ran["runScript"]["result"] == {"depth": 2}


async def test_a_program_without_main_runs_as_a_program(alice: GraphQLClient) -> None:
    program = (
        "const fs = require('fs');\n"
        "const data = JSON.parse(fs.readFileSync(0, 'utf8'));\n"
        "console.log('summing');\n"
        "fs.writeFileSync(process.env.SCRIPTBOX_RESULT, JSON.stringify(data.a + data.b));\n"
    )
    execution = await run(alice, program, name="sum.js", input={"a": 2, "b": 3})
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == 5
    assert execution["stdout"] == "summing\n"


async def test_a_thrown_error_fails_the_run_with_its_message(alice: GraphQLClient) -> None:
    content = "export function main() {\n  throw new Error('no depth given');\n}\n"
    execution = await run(alice, content, name="throws.js")
    assert execution["status"] == "FAILED"
    assert execution["error"] == {"code": "SCRIPT_ERROR", "message": "Error: no depth given"}
    assert "script.mjs:2" in execution["stderr"]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("module.exports.main = () => {\n  return 1 +;\n};\n", 2),
        ("import fs from 'node:fs';\n\nexport const main = () => 1 +;\n", 3),
    ],
    ids=["commonjs", "esm"],
)
async def test_a_syntax_error_is_refused_on_save_with_its_line(
    alice: GraphQLClient, content: str, line: int
) -> None:
    error = await alice.error(CREATE_SCRIPT, {"input": {"name": "broken.js", "content": content}})
    assert error["extensions"]["code"] == "INVALID_SCRIPT", error
    assert error["extensions"]["line"] == line, error
    assert error["message"].startswith(f"JavaScript syntax error at line {line}: "), error


async def test_an_update_with_a_syntax_error_keeps_the_saved_version(alice: GraphQLClient) -> None:
    saved = await script(alice, "kept.js", COMMONJS)
    error = await alice.error(
        UPDATE_SCRIPT, {"id": saved["id"], "input": {"content": "exports.main = (;\n"}}
    )
    assert error["extensions"]["code"] == "INVALID_SCRIPT", error
    assert error["extensions"]["line"] == 1, error
    ran = await alice.data(
        RUN, {"input": {"scriptId": saved["id"], "input": {"depth": 4}, "wait": True}}
    )
    assert ran["runScript"]["result"] == {"depth": 8}
