"""Unsaved code and JavaScript against the served process in both shapes:
a JavaScript script saved, checked and run; `runCode` followed live over
graphql-transport-ws, and its code kept in the history."""

from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.runs import RUN, UPDATES
from tests.support.tree import CREATE_SCRIPT, script
from tests.support.ws import subscription_client

RUN_CODE = """
mutation($input: RunCodeInput!) { runCode(input: $input) { id status script { id }
  code { language content } } }
"""
HISTORY = "query($id: ID!) { execution(id: $id) { status result code { language content } } }"
COUNTING = (
    "const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));\n"
    "export async function main(data) {\n"
    "  for (let i = 0; i < data.n; i++) {\n"
    "    console.log('line', i);\n"
    "    await sleep(50);\n"
    "  }\n"
    "  return { printed: data.n };\n"
    "}\n"
)


async def test_a_javascript_script_is_checked_and_runs(alice: GraphQLClient) -> None:
    error = await alice.error(
        CREATE_SCRIPT, {"input": {"name": "broken.mjs", "content": "export const x = ;\n"}}
    )
    assert (error["extensions"]["code"], error["extensions"]["line"]) == ("INVALID_SCRIPT", 1)
    created = await script(alice, "double.js", "exports.main = (data) => data.n * 2;\n")
    assert created["language"] == "JAVASCRIPT"
    variables = {"input": {"scriptId": created["id"], "input": {"n": 21}, "wait": True}}
    done = (await alice.data(RUN, variables))["runScript"]
    assert (done["status"], done["result"]) == ("SUCCEEDED", 42), done


async def test_run_code_is_followed_live_and_kept(alice: GraphQLClient) -> None:
    variables = {"input": {"language": "JAVASCRIPT", "content": COUNTING, "input": {"n": 5}}}
    queued = (await alice.data(RUN_CODE, variables))["runCode"]
    assert queued["script"] is None
    assert queued["code"] == {"language": "JAVASCRIPT", "content": COUNTING}
    async with subscription_client(alice.base_url, alice.token) as ws:
        events = await ws.collect(UPDATES, {"id": queued["id"]}, timeout=120)
    updates = [e["executionUpdates"] for e in events]
    output = "".join(u["data"] for u in updates if u["stream"] == "STDOUT")
    assert output == "".join(f"line {i}\n" for i in range(5))
    assert updates[-1]["status"] == "SUCCEEDED"
    kept = (await alice.data(HISTORY, {"id": queued["id"]}))["execution"]
    assert kept == {
        "status": "SUCCEEDED",
        "result": {"printed": 5},
        "code": {"language": "JAVASCRIPT", "content": COUNTING},
    }
