"""GraphQL documents and helpers for the dependency tests."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient

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
