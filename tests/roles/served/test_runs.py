"""Runs of Python and shell scripts, live output over graphql-transport-ws,
the REST path, batches and secrets, against the served process in both
shapes (in the scale-out one, a separate `scriptbox worker` runs them)."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.runs import RUN, UPDATES
from tests.support.tree import folder, script
from tests.support.ws import subscription_client

COUNTING = (
    "import time\n"
    "def main(data):\n"
    "    for i in range(data['n']):\n"
    "        print('line', i, flush=True)\n"
    "        time.sleep(0.05)\n"
    "    return {'printed': data['n']}\n"
)


async def run(client: GraphQLClient, script_id: str, **input: Any) -> dict[str, Any]:
    data = await client.data(RUN, {"input": {"scriptId": script_id, **input}})
    result: dict[str, Any] = data["runScript"]
    return result


async def test_python_run_with_input_and_result(alice: GraphQLClient) -> None:
    created = await script(alice, "double.py", "def main(data):\n    return data['n'] * 2\n")
    done = await run(alice, created["id"], input={"n": 21}, wait=True)
    assert (done["status"], done["result"], done["exitCode"]) == ("SUCCEEDED", 42, 0), done
    failed = await run(
        alice, (await script(alice, "boom.py", "def main(data):\n    1 / 0\n"))["id"], wait=True
    )
    assert failed["status"] == "FAILED"
    assert "ZeroDivisionError" in failed["stderr"]


async def test_shell_run_reads_input_and_writes_a_result(alice: GraphQLClient) -> None:
    created = await script(
        alice,
        "echo.sh",
        'read -r line\necho "got $line"\necho \'{"ok": true}\' > "$SCRIPTBOX_RESULT"\n',
    )
    done = await run(alice, created["id"], input={"k": "v"}, wait=True)
    assert done["status"] == "SUCCEEDED", done
    assert (done["stdout"], done["result"]) == ('got {"k":"v"}\n', {"ok": True})


async def test_live_output_then_terminal_event_over_websocket(alice: GraphQLClient) -> None:
    created = await script(alice, "count.py", COUNTING)
    queued = await run(alice, created["id"], input={"n": 10})
    async with subscription_client(alice.base_url, alice.token) as ws:
        events = await ws.collect(UPDATES, {"id": queued["id"]}, timeout=120)
    updates = [e["executionUpdates"] for e in events]
    output = "".join(u["data"] for u in updates if u["stream"] == "STDOUT")
    assert output == "".join(f"line {i}\n" for i in range(10))
    seqs = [u["seq"] for u in updates]
    assert seqs == sorted(seqs)
    assert updates[-1]["status"] == "SUCCEEDED"
    assert updates[-1]["execution"]["result"] == {"printed": 10}


async def test_rest_by_path(alice: GraphQLClient) -> None:
    geology = await folder(alice, "geology")
    await script(
        alice, "twice.py", "def main(data):\n    return {'twice': data['n'] * 2}\n", geology["id"]
    )
    response = await alice.http.post(
        f"{alice.base_url}/api/v1/scripts/geology/twice.py",
        json={"data": {"n": 21}},
        headers=alice.headers(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["success"], body["result"]) == (True, {"twice": 42})
    missing = await alice.http.post(
        f"{alice.base_url}/api/v1/scripts/geology/nope.py",
        json={"data": {}},
        headers=alice.headers(),
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NOT_FOUND")


async def test_batch_runs_every_input(alice: GraphQLClient) -> None:
    created = await script(alice, "tenfold.py", "def main(data):\n    return data['n'] * 10\n")
    started = await alice.data(
        "mutation($s: ID!, $inputs: [JSON!]!) { runBatch(scriptId: $s, inputs: $inputs, "
        "concurrency: 2) { id size } }",
        {"s": created["id"], "inputs": [{"n": i} for i in range(4)]},
    )
    batch = started["runBatch"]
    assert batch["size"] == 4
    async with subscription_client(alice.base_url, alice.token) as ws:
        updates = await ws.collect(
            "subscription($id: ID!) { batchUpdates(batchId: $id) { finished "
            "counts { status count } } }",
            {"id": batch["id"]},
            timeout=180,
        )
    last = updates[-1]["batchUpdates"]
    assert last["finished"] is True, updates
    assert {c["status"]: c["count"] for c in last["counts"] if c["count"]} == {"SUCCEEDED": 4}
    final = await alice.data(
        "query($id: ID!) { batch(id: $id) { executions { result } } }", {"id": batch["id"]}
    )
    assert sorted(e["result"] for e in final["batch"]["executions"]) == [0, 10, 20, 30]


async def test_secrets_reach_the_run_and_are_masked(alice: GraphQLClient) -> None:
    value = "s3cr3t-value-0123456789"
    await alice.data(
        "mutation($n: String!, $v: String!) { setSecret(name: $n, value: $v) { name } }",
        {"n": "API_TOKEN", "v": value},
    )
    listed = await alice.data("{ secrets { name } }")
    assert listed["secrets"] == [{"name": "API_TOKEN"}]
    created = await script(
        alice,
        "leaky.py",
        "import os\ndef main(data):\n    token = os.environ['API_TOKEN']\n"
        "    print('token is', token)\n    return len(token)\n",
        secrets=["API_TOKEN"],
    )
    done = await run(alice, created["id"], wait=True)
    assert done["status"] == "SUCCEEDED", done
    assert done["result"] == len(value)
    assert done["stdout"] == "token is ***\n"
