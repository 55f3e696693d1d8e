"""Output past SCRIPTBOX_OUTPUT_INLINE_BYTES: kept in object storage (local
folder, S3) instead of the execution's row, read back by every face that
shows it (GraphQL, the REST run's failure answer), and deleted with its
execution by retention."""

from __future__ import annotations

from typing import Any

import httpx

from models.executions import Execution
from services.executions.output_archive import output_prefix
from services.retention import Retention, RetentionRules
from tests.support.client import GraphQLClient
from tests.support.runs import GET, RUN
from tests.support.servers import Service
from tests.support.tree import script

LINES = 3000  # ~120 KB of stdout: past the default 64 KiB
CHATTY = (
    "import sys\n"
    "def main(data):\n"
    "    for i in range(data['lines']):\n"
    "        print(f'line {i:06d} ' + 'x' * 28)\n"
    "    print('to stderr', file=sys.stderr)\n"
    "    if data.get('fail'):\n"
    "        raise SystemExit(3)\n"
    "    return data['lines']\n"
)
EXPECTED = "".join(f"line {i:06d} " + "x" * 28 + "\n" for i in range(LINES))


async def run(client: GraphQLClient, script_id: str, **input: object) -> dict[str, Any]:
    variables = {"input": {"scriptId": script_id, "input": input, "wait": True}}
    done: dict[str, object] = (await client.data(RUN, variables))["runScript"]
    return done


async def test_large_output_round_trips_through_storage_and_goes_with_its_run(
    service: Service, alice: GraphQLClient
) -> None:
    store = service.process.services.store
    created = await script(alice, "chatty.py", CHATTY)
    first = await run(alice, created["id"], lines=LINES)
    assert first["status"] == "SUCCEEDED", first
    assert (first["stdout"], first["stderr"]) == (EXPECTED, "to stderr\n")

    row = await Execution.get(id=first["id"])
    assert (row.stdout, row.stderr) == ("", "")  # not in the row
    assert row.output_key is not None
    assert row.output_stored_bytes == len(EXPECTED) + len("to stderr\n")
    [stored] = await store.list(output_prefix(first["id"]))
    assert stored.key == row.output_key

    # Read again later, by a fresh query: from storage, not from the bus.
    again = (await alice.data(GET, {"id": first["id"]}))["execution"]
    assert (again["stdout"], again["stderr"]) == (EXPECTED, "to stderr\n")

    # Small output stays in the row.
    small = await run(alice, created["id"], lines=2)
    small_row = await Execution.get(id=small["id"])
    assert small_row.output_key is None
    assert small_row.stdout.startswith("line 000000")

    # Retention deletes the large one: its object goes with it. (One batch
    # of chosen ids: the rules would reach other tests' runs of this service.)
    report = await Retention(store, RetentionRules(per_script=1)).delete_batch([first["id"]])
    assert (report.executions, report.stored_outputs) == (1, 1)
    assert report.stored_output_bytes == row.output_stored_bytes
    assert await store.list(output_prefix(first["id"])) == []
    assert (await alice.data(GET, {"id": first["id"]}))["execution"] is None
    kept = (await alice.data(GET, {"id": small["id"]}))["execution"]
    assert kept["stdout"].startswith("line 000000")


async def test_rest_failure_answer_carries_large_output(
    service: Service, alice: GraphQLClient
) -> None:
    await script(alice, "chatty-fail.py", CHATTY)
    async with httpx.AsyncClient(timeout=120) as http:
        response = await http.post(
            f"{alice.base_url}/api/v1/scripts/chatty-fail.py",
            json={"data": {"lines": LINES, "fail": True}},
            headers={"Authorization": f"Bearer {alice.token}"},
        )
    body = response.json()
    assert body["success"] is False, body
    assert (body["stdout"], body["stderr"]) == (EXPECTED, "to stderr\n")
    row = await Execution.get(id=body["execution_id"])
    assert row.output_key is not None and row.stdout == ""
