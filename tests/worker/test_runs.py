"""Running scripts through GraphQL over HTTP against the real Docker engine."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.client import GraphQLClient
from tests.support.runs import CANCEL, GET, RUN, run
from tests.support.tree import UPDATE_SCRIPT, folder, script


async def test_main_gets_json_in_and_gives_json_out(alice: GraphQLClient) -> None:
    execution = await run(
        alice,
        "def main(data):\n    print('hello', data['x'])\n    return {'doubled': data['x'] * 2}\n",
        input={"x": 21},
    )
    assert execution["status"] == "SUCCEEDED"
    assert execution["result"] == {"doubled": 42}
    assert execution["input"] == {"x": 21}
    assert execution["stdout"] == "hello 21\n"
    assert execution["exitCode"] == 0
    assert execution["error"] is None
    assert execution["durationMs"] >= 0
    assert execution["startedAt"] and execution["finishedAt"]


async def test_exception_fails_with_type_message_and_traceback(alice: GraphQLClient) -> None:
    execution = await run(alice, "def main(data):\n    raise ValueError('bad depth')\n")
    assert execution["status"] == "FAILED"
    assert execution["error"]["code"] == "SCRIPT_ERROR"
    assert "ValueError" in execution["error"]["message"]
    assert "bad depth" in execution["error"]["message"]
    assert "Traceback" in execution["stderr"]


async def test_python_program_without_main(alice: GraphQLClient) -> None:
    content = (
        "import json, os, sys\n"
        "data = json.load(sys.stdin)\n"
        "same = json.load(open(os.environ['SCRIPTBOX_INPUT']))\n"
        "json.dump({'sum': data['a'] + same['b']}, open(os.environ['SCRIPTBOX_RESULT'], 'w'))\n"
        "print('done')\n"
    )
    execution = await run(alice, content, input={"a": 1, "b": 2})
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == {"sum": 3}
    assert execution["stdout"] == "done\n"


async def test_shell_script_with_result_file_and_exit_code(alice: GraphQLClient) -> None:
    ok = await run(
        alice,
        'read -r line\necho "got $line"\necho \'{"ok": true}\' > "$SCRIPTBOX_RESULT"\n',
        name="ok.sh",
        input={"k": "v"},
    )
    assert ok["status"] == "SUCCEEDED", ok
    assert ok["stdout"] == 'got {"k":"v"}\n'
    assert ok["result"] == {"ok": True}
    failed = await run(alice, "echo oops >&2\nexit 3\n", name="fail.sh")
    assert failed["status"] == "FAILED"
    assert failed["exitCode"] == 3
    assert failed["error"]["code"] == "NON_ZERO_EXIT"
    assert failed["stderr"] == "oops\n"


async def test_execution_pins_the_version_it_ran(alice: GraphQLClient) -> None:
    created = await script(alice, "pinned.py", "def main(data):\n    return 1\n")
    first = (await alice.data(RUN, {"input": {"scriptId": created["id"], "wait": True}}))[
        "runScript"
    ]
    await alice.data(
        UPDATE_SCRIPT,
        {"id": created["id"], "input": {"content": "def main(data):\n    return 2\n"}},
    )
    second = (await alice.data(RUN, {"input": {"scriptId": created["id"], "wait": True}}))[
        "runScript"
    ]
    assert (first["scriptVersion"], first["result"]) == (1, 1)
    assert (second["scriptVersion"], second["result"]) == (2, 2)


async def test_run_by_path_and_missing_path(alice: GraphQLClient) -> None:
    box = await folder(alice, "geology")
    await script(alice, "analysis.py", "def main(data):\n    return 'ok'\n", box["id"])
    found = await alice.data(RUN, {"input": {"path": "geology/analysis.py", "wait": True}})
    assert found["runScript"]["result"] == "ok"
    assert found["runScript"]["script"]["path"] == "geology/analysis.py"
    error = await alice.error(RUN, {"input": {"path": "geology/missing.py"}})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_input_over_the_limit_queues_nothing(alice: GraphQLClient) -> None:
    created = await script(alice, "big.py", "def main(data):\n    return 1\n")
    huge = {"blob": "x" * (1024 * 1024 + 10)}
    error = await alice.error(RUN, {"input": {"scriptId": created["id"], "input": huge}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    listed = await alice.data(
        "query($s: ID) { executions(scriptId: $s) { id } }", {"s": created["id"]}
    )
    assert listed["executions"] == []


async def test_bad_timeouts_are_refused(alice: GraphQLClient) -> None:
    created = await script(alice, "t.py", "def main(data):\n    return 1\n")
    for timeout in (0, -1, 100000):
        error = await alice.error(
            RUN, {"input": {"scriptId": created["id"], "timeoutSeconds": timeout}}
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_another_users_script_and_execution_are_not_found(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    execution = await run(alice, "def main(data):\n    return 1\n")
    assert (await bob.data(GET, {"id": execution["id"]}))["execution"] is None
    error = await bob.error(CANCEL, {"id": execution["id"]})
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await bob.error(RUN, {"input": {"scriptId": execution["script"]["id"]}})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_cancel_a_running_execution(alice: GraphQLClient) -> None:
    started = await run(
        alice, "import time\nprint('started', flush=True)\ntime.sleep(60)\n", wait=False
    )
    # Running for real: claimed, and the script has printed (stored output).
    current: dict[str, Any] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = (await alice.data(GET, {"id": started["id"]}))["execution"]
        if current["status"] != "QUEUED" and current["stdout"]:
            break
        await asyncio.sleep(0.1)
    assert (current["status"], current["stdout"]) == ("RUNNING", "started\n"), current
    cancelled = (await alice.data(CANCEL, {"id": started["id"]}))["cancelExecution"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["error"]["code"] == "CANCELLED"
    final = (await alice.data(GET, {"id": started["id"]}))["execution"]
    assert final["status"] == "CANCELLED"
    assert final["stdout"] == "started\n"
    assert final["durationMs"] < 30_000


async def test_executions_list_filters_and_pages(alice: GraphQLClient) -> None:
    created = await script(alice, "paged.py", "def main(data):\n    return data\n")
    ids = []
    for i in range(5):
        done = await alice.data(
            RUN, {"input": {"scriptId": created["id"], "input": i, "wait": True}}
        )
        ids.append(done["runScript"]["id"])
    query = """query($s: ID, $after: String, $status: ExecutionStatus) {
      executions(scriptId: $s, first: 2, after: $after, status: $status) { id cursor result } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await alice.data(query, {"s": created["id"], "after": after}))["executions"]
        if not page:
            break
        seen.extend(e["id"] for e in page)
        after = page[-1]["cursor"]
    assert seen == list(reversed(ids))
    failed = await alice.data(query, {"s": created["id"], "status": "FAILED"})
    assert failed["executions"] == []
