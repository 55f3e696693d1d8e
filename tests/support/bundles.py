"""Runs that bundle the scripts they import, shared by the Python, shell and
JavaScript import tests: the run, the queries on what it bundled, and what a
run refused before its container looks like."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.runs import EXECUTION_FIELDS

RUN_BUNDLE = f"""
mutation($input: RunScriptInput!) {{
  runScript(input: $input) {{ {EXECUTION_FIELDS} bundle {{ path version sha256 }} }}
}}
"""
GET_BUNDLE = "query($id: ID!) { execution(id: $id) { id bundle { path version sha256 } } }"
IMPORTS = "query($id: ID!) { script(id: $id) { path imports { path resolved } } }"
VERSIONS = "query($id: ID!) { script(id: $id) { versions { version sha256 } } }"


async def run_bundle(client: GraphQLClient, script_id: str, data: Any = None) -> dict[str, Any]:
    variables = {"input": {"scriptId": script_id, "input": data, "wait": True}}
    result: dict[str, Any] = (await client.data(RUN_BUNDLE, variables))["runScript"]
    return result


async def sha_of(client: GraphQLClient, script_id: str, version: int) -> str:
    versions = (await client.data(VERSIONS, {"id": script_id}))["script"]["versions"]
    return str(next(v["sha256"] for v in versions if v["version"] == version))


def assert_failed_before_container(execution: dict[str, Any], code: str, mentions: str) -> None:
    """The run failed with `code` naming `mentions`, and no container ever
    ran it: no exit code, no output, nothing bundled."""
    assert execution["status"] == "FAILED", execution
    assert execution["error"]["code"] == code, execution["error"]
    assert mentions in execution["error"]["message"], execution["error"]
    assert execution["exitCode"] is None and execution["stdout"] == ""
    assert execution["bundle"] == []
