"""What a run cost (`Execution.resources`, `image`, `executionStats`), through
GraphQL over HTTP against the real Docker engine, on SQLite and PostgreSQL.

The numbers are the kernel's for the script's processes, so each test makes
the script do something whose cost has a floor no honest measurement can miss
(100 MiB touched, half a second of CPU, a one-second sleep), and checks the
ones it should not have spent stay small."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.client import GraphQLClient
from tests.support.runs import CANCEL
from tests.support.tree import script

MiB = 2**20

COST = "resources { peakMemoryBytes cpuUserSeconds cpuSystemSeconds wallSeconds }"
RUN = f"""mutation($input: RunScriptInput!) {{ runScript(input: $input) {{
  id status error {{ code }} image imageId {COST} }} }}"""
GET = f"""query($id: ID!) {{ execution(id: $id) {{
  id status stdout error {{ code }} image imageId {COST} }} }}"""
STATS = """query($d: Int!) { executionStats(days: $d, timeZone: "UTC") {
  label runs cpuSeconds peakMemoryBytes } }"""

# Touches every page: `bytearray(n)` alone would map zero pages never resident.
ALLOCATES_100_MIB = "def main(data):\n    block = b'x' * (100 * 2**20)\n    return len(block)\n"
# Spins until the process's own CPU clock says half a second, so a busy
# machine cannot shorten the spin; reads that clock (a system call) seldom, so
# the time is spent in user mode.
BUSY_HALF_SECOND = (
    "import time\n"
    "def main(data):\n"
    "    start = time.process_time()\n"
    "    while time.process_time() - start < 0.5:\n"
    "        sum(range(10000))\n"
)
SLEEPS_ONE_SECOND = "import time\ndef main(data):\n    time.sleep(1)\n"


async def run(client: GraphQLClient, name: str, content: str, **extra: Any) -> dict[str, Any]:
    created = await script(client, name, content)
    variables = {"input": {"scriptId": created["id"], "wait": True, **extra}}
    result: dict[str, Any] = (await client.data(RUN, variables))["runScript"]
    return result


def cpu(execution: dict[str, Any]) -> float:
    used = execution["resources"]
    return float(used["cpuUserSeconds"] + used["cpuSystemSeconds"])


async def test_memory_a_script_touches_is_its_peak(alice: GraphQLClient) -> None:
    big = await run(alice, "big.py", ALLOCATES_100_MIB)
    assert big["status"] == "SUCCEEDED", big
    assert big["resources"]["peakMemoryBytes"] > 100 * MiB
    # Measured per run, not a ceiling: a small run's peak is far below it.
    small = await run(alice, "small.py", "def main(data):\n    return 1\n")
    assert 0 < small["resources"]["peakMemoryBytes"] < 60 * MiB


async def test_a_busy_loop_spends_user_cpu(alice: GraphQLClient) -> None:
    busy = await run(alice, "busy.py", BUSY_HALF_SECOND)
    assert busy["status"] == "SUCCEEDED", busy
    used = busy["resources"]
    assert used["cpuUserSeconds"] > 0.3
    assert used["cpuSystemSeconds"] >= 0
    assert used["wallSeconds"] >= used["cpuUserSeconds"] - 0.05


async def test_a_sleep_takes_wall_time_but_little_cpu(alice: GraphQLClient) -> None:
    # Function mode: the pre-started child's own start-up (during the
    # container's idle wait) is not the run's.
    slept = await run(alice, "sleepy.py", SLEEPS_ONE_SECOND)
    assert slept["status"] == "SUCCEEDED", slept
    assert slept["resources"]["wallSeconds"] >= 1.0
    assert cpu(slept) < 0.2
    shell = await run(alice, "sleepy.sh", "sleep 1\n")
    assert shell["status"] == "SUCCEEDED", shell
    assert shell["resources"]["wallSeconds"] >= 1.0
    assert cpu(shell) < 0.2


async def test_children_the_script_waits_for_are_counted(alice: GraphQLClient) -> None:
    spins = BUSY_HALF_SECOND + "main(None)\n"
    shell = await run(alice, "spawns.sh", f"python3 - <<'EOF'\n{spins}EOF\n")
    assert shell["status"] == "SUCCEEDED", shell
    assert shell["resources"]["cpuUserSeconds"] > 0.3


async def test_a_run_stopped_at_its_timeout_is_measured(alice: GraphQLClient) -> None:
    spinning = "while True:\n    pass\n"
    stopped = await run(alice, "spin.py", spinning, timeoutSeconds=1)
    assert (stopped["status"], stopped["error"]["code"]) == ("TIMED_OUT", "TIMEOUT")
    assert stopped["resources"]["wallSeconds"] >= 1.0
    assert stopped["resources"]["cpuUserSeconds"] > 0.3


async def test_a_cancelled_run_has_its_wall_time_only(alice: GraphQLClient) -> None:
    """The container is killed before its runner reports: the host knows
    how long it ran, and says nothing it cannot know."""
    started = await run(
        alice, "cancelled.py", "import time\nprint('on', flush=True)\ntime.sleep(60)\n", wait=False
    )
    deadline = time.monotonic() + 60
    current: dict[str, Any] = {}
    while time.monotonic() < deadline:
        current = (await alice.data(GET, {"id": started["id"]}))["execution"]
        if current["stdout"]:
            break
        await asyncio.sleep(0.1)
    assert current["resources"] is None  # nothing is known until it ends
    await alice.data(CANCEL, {"id": started["id"]})
    final = (await alice.data(GET, {"id": started["id"]}))["execution"]
    assert final["status"] == "CANCELLED"
    used = final["resources"]
    assert used["wallSeconds"] > 0
    assert (used["peakMemoryBytes"], used["cpuUserSeconds"], used["cpuSystemSeconds"]) == (
        None,
        None,
        None,
    )
    assert final["imageId"].startswith("sha256:")


async def test_the_image_that_ran_it(alice: GraphQLClient) -> None:
    done = await run(alice, "where.py", "def main(data):\n    return 1\n")
    assert done["image"].startswith("scriptbox-sandbox")
    assert done["imageId"].startswith("sha256:")
    assert len(done["imageId"]) == len("sha256:") + 64


async def test_a_run_that_never_reached_a_sandbox_cost_nothing(alice: GraphQLClient) -> None:
    created = await script(
        alice, "unrun.py", "def main(data):\n    return 1\n", secrets=["NOT_SET_ANYWHERE"]
    )
    done = (await alice.data(RUN, {"input": {"scriptId": created["id"], "wait": True}}))[
        "runScript"
    ]
    assert done["error"]["code"] == "MISSING_SECRET"
    assert (done["resources"], done["image"], done["imageId"]) == (None, None, None)


async def test_stats_sum_cpu_and_keep_the_largest_peak(alice: GraphQLClient) -> None:
    runs = [
        await run(alice, "s-big.py", ALLOCATES_100_MIB),
        await run(alice, "s-busy.py", BUSY_HALF_SECOND),
        await run(alice, "s-sleep.py", SLEEPS_ONE_SECOND),
    ]
    # Two days, in case the runs straddle midnight.
    days = (await alice.data(STATS, {"d": 2}))["executionStats"]
    assert sum(day["runs"] for day in days) == 3
    total = sum(day["cpuSeconds"] or 0 for day in days)
    assert abs(total - sum(cpu(r) for r in runs)) < 1e-3
    assert total > 0.3
    peak = max(day["peakMemoryBytes"] or 0 for day in days)
    assert peak == max(r["resources"]["peakMemoryBytes"] for r in runs)
    assert peak > 100 * MiB
