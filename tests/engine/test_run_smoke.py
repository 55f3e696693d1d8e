from __future__ import annotations

from tests.api.tree_ops import script
from tests.support.client import GraphQLClient

RUN = """
mutation($input: RunScriptInput!) {
  runScript(input: $input) { id status result error { code message } exitCode stdout stderr
    scriptVersion durationMs }
}
"""


async def test_smoke(alice: GraphQLClient) -> None:
    s = await script(
        alice, "echo.py", "def main(data):\n    print('hello')\n    return {'got': data}\n"
    )
    out = await alice.data(RUN, {"input": {"scriptId": s["id"], "input": {"x": 1}, "wait": True}})
    print(out)
    assert out["runScript"]["status"] == "SUCCEEDED"
