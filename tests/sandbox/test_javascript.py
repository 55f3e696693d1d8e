"""JavaScript in the real sandbox: main() as an ES module or CommonJS, sync or
async, programs without main, and how each kind of failure is reported."""

from __future__ import annotations

import json

import pytest

from tests.support.sandbox_runs import RunScript

pytestmark = pytest.mark.docker


@pytest.mark.parametrize(
    "script",
    [
        "export function main(data) {\n  console.log('got', data.depth);\n"
        "  return { depth: data.depth * 2 };\n}\n",
        "module.exports.main = function (data) {\n  console.log('got', data.depth);\n"
        "  return { depth: data.depth * 2 };\n};\n",
        "exports.main = async (data) => {\n  await new Promise((r) => setTimeout(r, 10));\n"
        "  console.log('got', data.depth);\n  return { depth: data.depth * 2 };\n};\n",
        "const wait = (ms) => new Promise((r) => setTimeout(r, ms));\nawait wait(1);\n"
        "export async function main(data) {\n  await wait(10);\n  console.log('got', data.depth);\n"
        "  return { depth: data.depth * 2 };\n}\n",
    ],
    ids=["esm", "commonjs", "commonjs-async", "esm-top-level-await"],
)
async def test_main_gets_json_and_returns_json(run_script: RunScript, script: str) -> None:
    run = await run_script(script, {"depth": 21}, language="javascript")
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    assert json.loads(run.outcome.result_json or "") == {"depth": 42}
    assert run.stdout == "got 21\n"


async def test_main_returning_nothing_is_null(run_script: RunScript) -> None:
    run = await run_script("export function main() {}\n", language="javascript")
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    assert run.outcome.result_json == "null"


async def test_a_thrown_error_is_script_error_with_its_stack(run_script: RunScript) -> None:
    script = (
        "function deeper(depth) {\n  throw new RangeError(`too deep: ${depth}`);\n}\n"
        "export function main(data) {\n  return deeper(data.depth);\n}\n"
    )
    run = await run_script(script, {"depth": 9}, language="javascript")
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "SCRIPT_ERROR"
    assert run.outcome.error_message == "RangeError: too deep: 9"
    assert "script.mjs:2" in run.stderr  # the user's line
    assert "call_main" not in run.stderr  # not the harness's frames


async def test_a_rejected_promise_is_script_error(run_script: RunScript) -> None:
    script = "exports.main = async () => {\n  throw new TypeError('nope');\n};\n"
    run = await run_script(script, language="javascript")
    assert run.outcome.error_code == "SCRIPT_ERROR"
    assert run.outcome.error_message == "TypeError: nope"


async def test_a_syntax_error_is_script_error(run_script: RunScript) -> None:
    run = await run_script("export function main( {\n", language="javascript")
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "SCRIPT_ERROR"
    assert (run.outcome.error_message or "").startswith("SyntaxError:")


@pytest.mark.parametrize(
    ("value", "message"),
    [("10n", "BigInt"), ("(() => { const a = {}; a.a = a; return a; })()", "circular")],
    ids=["bigint", "cycle"],
)
async def test_main_returning_non_json(run_script: RunScript, value: str, message: str) -> None:
    run = await run_script(f"export function main() {{ return {value}; }}\n", language="javascript")
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "INVALID_RESULT"
    assert message in (run.outcome.error_message or "")


async def test_a_program_reads_stdin_and_writes_the_result_file(run_script: RunScript) -> None:
    script = (
        "const fs = require('fs');\n"
        "const data = JSON.parse(fs.readFileSync(0, 'utf8'));\n"
        "setTimeout(() => {\n"
        "  console.log('later');\n"
        "  const result = JSON.stringify({ sum: data[0] + data[1] });\n"
        "  fs.writeFileSync(process.env.SCRIPTBOX_RESULT, result);\n"
        "}, 20);\n"
    )
    run = await run_script(script, [1, 2], language="javascript")
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    assert json.loads(run.outcome.result_json or "") == {"sum": 3}
    assert run.stdout == "later\n"  # the program ran until its event loop was empty


async def test_a_program_exit_code_is_kept(run_script: RunScript) -> None:
    run = await run_script("console.error('bad');\nprocess.exit(3);\n", language="javascript")
    assert run.outcome.status == "failed"
    assert run.outcome.error_code == "NON_ZERO_EXIT"
    assert run.outcome.exit_code == 3
    assert run.stderr == "bad\n"


async def test_input_files_env_and_artifacts(run_script: RunScript) -> None:
    script = (
        "import fs from 'node:fs';\n"
        "export function main() {\n"
        "  const text = fs.readFileSync('/job/in/a.txt', 'utf8');\n"
        "  fs.writeFileSync(process.env.SCRIPTBOX_OUTPUT_DIR + '/b.txt', text.toUpperCase());\n"
        "  return { token: process.env.API_TOKEN, argv: process.argv.length };\n"
        "}\n"
    )
    run = await run_script(
        script, language="javascript", files=(("a.txt", b"hello"),), env={"API_TOKEN": "t0k"}
    )
    assert run.outcome.status == "succeeded", (run.outcome, run.stderr)
    assert json.loads(run.outcome.result_json or "") == {"token": "t0k", "argv": 2}
    assert [(a.name, a.data) for a in run.outcome.artifacts] == [("b.txt", b"HELLO")]
