"""Choosing where a run goes, against the served process in both shapes
(embedded on SQLite, and a separate `scriptbox worker` on PostgreSQL): a run
for the worker's name runs there and names it, a run for a tag nobody
carries waits and says why, and `runOnWorkers` runs once on the worker."""

from __future__ import annotations

import secrets
from typing import Any

from tests.roles.served.conftest import Served
from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually
from tests.support.tree import script

PLACED = "id status target worker waitingFor result"
RUN = f"mutation($input: RunScriptInput!) {{ runScript(input: $input) {{ {PLACED} }} }}"
GET = f"query($id: ID!) {{ execution(id: $id) {{ {PLACED} }} }}"
RUN_ON_WORKERS = f"""
mutation($tag: String!, $path: String!) {{
  runOnWorkers(tag: $tag, path: $path, input: 7) {{ id size target executions {{ {PLACED} }} }}
}}
"""
GET_BATCH = f"query($id: ID!) {{ batch(id: $id) {{ finished executions {{ {PLACED} }} }} }}"


def worker_name(served: Served) -> str:
    """The process that runs executions is the last one started."""
    return served.processes[-1].env["SCRIPTBOX_WORKER_NAME"]


async def test_runs_go_where_their_tag_says(alice: GraphQLClient, served: Served) -> None:
    created = await script(alice, "where.py", "def main(data):\n    return data\n")
    name = worker_name(served)

    async def run(**extra: Any) -> dict[str, Any]:
        data = await alice.data(RUN, {"input": {"scriptId": created["id"], **extra}})
        row: dict[str, Any] = data["runScript"]
        return row

    there = await run(input=1, target=name, wait=True)
    assert (there["status"], there["result"], there["worker"]) == ("SUCCEEDED", 1, name), there

    tag = f"gpu-{secrets.token_hex(3)}"
    waiting = await run(target=tag)
    try:
        assert (await run(input=2, wait=True))["status"] == "SUCCEEDED"
        held = (await alice.data(GET, {"id": waiting["id"]}))["execution"]
        assert (held["status"], held["worker"]) == ("QUEUED", None)
        assert held["waitingFor"] == f"No live worker has the tag '{tag}'."
    finally:
        await alice.data(
            "mutation($id: ID!) { cancelExecution(id: $id) { id } }", {"id": waiting["id"]}
        )

    batch = (await alice.data(RUN_ON_WORKERS, {"tag": name, "path": "where.py"}))["runOnWorkers"]
    assert (batch["size"], batch["target"]) == (1, name)

    async def finished() -> list[dict[str, Any]] | None:
        found = (await alice.data(GET_BATCH, {"id": batch["id"]}))["batch"]
        executions: list[dict[str, Any]] = found["executions"]
        return executions if found["finished"] else None

    [execution] = await eventually(finished, "the run on the worker ends")
    assert (execution["status"], execution["result"]) == ("SUCCEEDED", 7)
    assert (execution["target"], execution["worker"]) == (name, name)
    error = await alice.error(RUN_ON_WORKERS, {"tag": tag, "path": "where.py"})
    assert error["extensions"]["code"] == "NO_LIVE_WORKER"
