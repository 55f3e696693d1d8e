"""What a run cost, as `scriptbox serve` (and, in the scale-out shape, a
separate `scriptbox worker`) records it: memory, CPU and wall time on the
execution, the image that ran it, and the day's sums in the statistics."""

from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.tree import script

RUN = """mutation($input: RunScriptInput!) { runScript(input: $input) {
  status image imageId
  resources { peakMemoryBytes cpuUserSeconds cpuSystemSeconds wallSeconds } } }"""
STATS = "{ executionStats(days: 2) { runs cpuSeconds peakMemoryBytes } }"
HUNGRY = (
    "import time\n"
    "def main(data):\n"
    "    block = b'x' * (100 * 2**20)\n"
    "    start = time.process_time()\n"
    "    while time.process_time() - start < 0.5:\n"
    "        sum(range(10000))\n"
    "    time.sleep(0.5)\n"
    "    return len(block)\n"
)


async def test_a_run_records_what_it_cost(alice: GraphQLClient) -> None:
    created = await script(alice, "hungry.py", HUNGRY)
    done = (await alice.data(RUN, {"input": {"scriptId": created["id"], "wait": True}}))[
        "runScript"
    ]
    assert done["status"] == "SUCCEEDED", done
    used = done["resources"]
    assert used["peakMemoryBytes"] > 100 * 2**20
    assert used["cpuUserSeconds"] > 0.3
    assert used["wallSeconds"] >= 1.0
    assert done["image"].startswith("scriptbox-sandbox")
    assert done["imageId"].startswith("sha256:")
    days = (await alice.data(STATS))["executionStats"]
    assert sum(day["runs"] for day in days) == 1
    total = sum(day["cpuSeconds"] or 0 for day in days)
    assert abs(total - (used["cpuUserSeconds"] + used["cpuSystemSeconds"])) < 1e-3
    assert max(day["peakMemoryBytes"] or 0 for day in days) == used["peakMemoryBytes"]
