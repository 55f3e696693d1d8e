"""GraphQL documents and helpers for the dependency tests."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually

DEPENDENCIES = """
  requirements
  dependencies { status requirements pythonVersion environmentHash resolvedAt
    pins { name version file sha256 size } error { code message } }
"""
CREATE = f"""
mutation($input: CreateScriptInput!) {{ createScript(input: $input) {{ id {DEPENDENCIES} }} }}
"""
UPDATE = f"""
mutation($id: ID!, $input: UpdateScriptInput!) {{
  updateScript(id: $id, input: $input) {{ id {DEPENDENCIES} }} }}
"""
GET = f"query($id: ID!) {{ script(id: $id) {{ id {DEPENDENCIES} }} }}"
RUN = """
mutation($input: RunScriptInput!) { runScript(input: $input) {
  id status result error { code message } stdout stderr durationMs startedAt finishedAt } }
"""


def pep723(*requirements: str, body: str = "") -> str:
    listed = ", ".join(f'"{r}"' for r in requirements)
    return f"# /// script\n# dependencies = [{listed}]\n# ///\n{body}"


async def create(client: GraphQLClient, name: str, content: str, **extra: Any) -> dict[str, Any]:
    data = await client.data(CREATE, {"input": {"name": name, "content": content, **extra}})
    result: dict[str, Any] = data["createScript"]
    return result


async def run(client: GraphQLClient, script_id: str, wait: bool = True) -> dict[str, Any]:
    data = await client.data(RUN, {"input": {"scriptId": script_id, "wait": wait}})
    result: dict[str, Any] = data["runScript"]
    return result


async def dependencies_reach(client: GraphQLClient, script_id: str, status: str) -> dict[str, Any]:
    """The script's dependencies once their status is `status` (READY or
    FAILED), polled through GraphQL; the other final status fails at once."""

    async def probe() -> dict[str, Any] | None:
        shown: dict[str, Any] = (await client.data(GET, {"id": script_id}))["script"][
            "dependencies"
        ]
        if shown["status"] in ("READY", "FAILED") and shown["status"] != status:
            raise AssertionError(f"dependencies ended {shown['status']}, not {status}: {shown}")
        return shown if shown["status"] == status else None

    return await eventually(probe, f"the script's dependencies are {status}", every=0.25)
