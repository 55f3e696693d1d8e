"""GraphQL documents and helpers for the execution tests."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.tree import script

EXECUTION_FIELDS = """
  id status scriptVersion input result error { code message } exitCode stdout stderr
  outputTruncated queuedAt startedAt finishedAt durationMs cursor script { id path }
"""
RUN = f"mutation($input: RunScriptInput!) {{ runScript(input: $input) {{ {EXECUTION_FIELDS} }} }}"
GET = f"query($id: ID!) {{ execution(id: $id) {{ {EXECUTION_FIELDS} }} }}"
# The statuses an execution ends in, as GraphQL spells them.
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"})
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { id status error { code } } }"
UPDATES = """
subscription($id: ID!) { executionUpdates(executionId: $id) {
  executionId seq status stream data execution { status result error { code message } exitCode }
} }
"""


async def run(
    client: GraphQLClient,
    content: str,
    name: str = "job.py",
    input: Any = None,
    wait: bool = True,
    timeout: float | None = None,
) -> dict[str, Any]:
    created = await script(client, name, content)
    variables: dict[str, Any] = {
        "input": {
            "scriptId": created["id"],
            "input": input,
            "wait": wait,
            "timeoutSeconds": timeout,
        }
    }
    result: dict[str, Any] = (await client.data(RUN, variables))["runScript"]
    return result
