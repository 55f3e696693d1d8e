"""Batches: fan out, respect concurrency, report progress, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import GraphQLClient, user_at
from tests.support.deadlines import eventually
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.runs import TERMINAL
from tests.support.tree import script
from tests.support.ws import subscription_client

LOCAL = pytest.mark.parametrize("service", ["local"], indirect=True)
# The worker runs more at once than the batch may, so the batch's own limit
# is what keeps the overlap down.
WORKER_CONCURRENCY = 4
BATCH_CONCURRENCY = 2

RUN_BATCH = """
mutation($s: ID!, $inputs: [JSON!]!, $c: Int!) {
  runBatch(scriptId: $s, inputs: $inputs, concurrency: $c) { id size concurrency
    counts { status count } }
}
"""
BATCH = """query($id: ID!) { batch(id: $id) { id finished counts { status count }
  executions { id status input result startedAt finishedAt batchId } } }"""
SLOW = "import time\ndef main(data):\n    time.sleep(data['sleep'])\n    return data['n'] * 10\n"


def counts(batch: dict[str, Any]) -> dict[str, int]:
    return {c["status"]: c["count"] for c in batch["counts"] if c["count"]}


@pytest.fixture
def wide_served(tmp_path: Path) -> Iterator[ServiceProcess]:
    """`scriptbox serve` whose worker runs WORKER_CONCURRENCY executions at once
    (a process of its own: the in-process service is one per test session)."""
    env = cli_environment(tmp_path, SCRIPTBOX_WORKER_CONCURRENCY=str(WORKER_CONCURRENCY))
    with ServiceProcess(env) as service:
        yield service


@pytest.fixture
async def wide_worker(wide_served: ServiceProcess) -> AsyncIterator[GraphQLClient]:
    async with user_at(wide_served.url, "wide") as client:
        yield client


def most_at_once(executions: list[dict[str, Any]]) -> int:
    """The largest number of executions running at one moment, from their spans."""
    spans = [
        (datetime.fromisoformat(e["startedAt"]), datetime.fromisoformat(e["finishedAt"]))
        for e in executions
    ]
    return max(sum(1 for s, f in spans if s <= start < f) for start, _ in spans)


async def test_batch_runs_every_input_within_its_concurrency(wide_worker: GraphQLClient) -> None:
    alice = wide_worker
    created = await script(alice, "fan.py", SLOW)
    # Long enough that runs started together overlap even on a loaded machine.
    inputs = [{"n": i, "sleep": 2} for i in range(6)]
    started = await alice.data(
        RUN_BATCH, {"s": created["id"], "inputs": inputs, "c": BATCH_CONCURRENCY}
    )
    batch = started["runBatch"]
    assert batch["size"] == 6 and batch["concurrency"] == BATCH_CONCURRENCY
    assert counts(batch) == {"QUEUED": 6}

    async with subscription_client(alice.base_url, alice.token) as ws:
        updates = await ws.collect(
            "subscription($id: ID!) { batchUpdates(batchId: $id) { finished "
            "counts { status count } } }",
            {"id": batch["id"]},
            timeout=120,
        )
    assert updates[-1]["batchUpdates"]["finished"] is True
    assert counts(updates[-1]["batchUpdates"]) == {"SUCCEEDED": 6}

    final = (await alice.data(BATCH, {"id": batch["id"]}))["batch"]
    assert [e["result"] for e in final["executions"]] == [i * 10 for i in range(6)]
    assert all(e["batchId"] == batch["id"] for e in final["executions"])
    # Exactly the batch's limit at once: never more, and the limit is used.
    assert most_at_once(final["executions"]) == BATCH_CONCURRENCY


@LOCAL
async def test_batch_over_the_limit_is_refused_whole(alice: GraphQLClient, service: Any) -> None:
    created = await script(alice, "many.py", "def main(data):\n    return data\n")
    too_many = [{"n": i} for i in range(service.settings.max_batch_size + 1)]
    error = await alice.error(RUN_BATCH, {"s": created["id"], "inputs": too_many, "c": 2})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    listed = await alice.data(
        "query($s: ID) { executions(scriptId: $s) { id } }", {"s": created["id"]}
    )
    assert listed["executions"] == []
    error = await alice.error(RUN_BATCH, {"s": created["id"], "inputs": [1], "c": 0})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@LOCAL
async def test_cancel_batch_stops_what_has_not_finished(alice: GraphQLClient) -> None:
    created = await script(alice, "slowfan.py", SLOW)
    inputs = [{"n": i, "sleep": 30} for i in range(4)]
    batch = (await alice.data(RUN_BATCH, {"s": created["id"], "inputs": inputs, "c": 1}))[
        "runBatch"
    ]
    await alice.data(
        "mutation($id: ID!) { cancelBatch(id: $id) { finished counts { status count } } }",
        {"id": batch["id"]},
    )

    async def finished() -> dict[str, Any] | None:
        current: dict[str, Any] = (await alice.data(BATCH, {"id": batch["id"]}))["batch"]
        return current if current["finished"] else None

    final = await eventually(finished, "the cancelled batch finished")
    assert counts(final) == {"CANCELLED": 4}


@LOCAL
async def test_other_users_batches_are_invisible(alice: GraphQLClient, bob: GraphQLClient) -> None:
    created = await script(alice, "b.py", "def main(data):\n    return data\n")
    batch = (await alice.data(RUN_BATCH, {"s": created["id"], "inputs": [1], "c": 1}))["runBatch"]
    assert (await bob.data(BATCH, {"id": batch["id"]}))["batch"] is None
    error = await bob.error(
        "mutation($id: ID!) { cancelBatch(id: $id) { id } }", {"id": batch["id"]}
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


def one_moment(batch: dict[str, Any]) -> bool:
    """Whether `finished`, `counts` and `executions` of one answer agree."""
    statuses = [e["status"] for e in batch["executions"]]
    tallied = {s: statuses.count(s) for s in set(statuses)}
    ended = all(s in TERMINAL for s in statuses)
    return counts(batch) == tallied and batch["finished"] is ended


@pytest.mark.parametrize("service", ["postgres"], indirect=True)
async def test_every_answer_about_a_batch_describes_one_moment(alice: GraphQLClient) -> None:
    """Its fields are resolved at once; read apart, a run ending between the
    reads would make a batch `finished` with an execution still RUNNING."""
    created = await script(alice, "quick.py", "def main(data):\n    return data['n']\n")
    inputs = [{"n": i} for i in range(40)]
    batch = (await alice.data(RUN_BATCH, {"s": created["id"], "inputs": inputs, "c": 8}))[
        "runBatch"
    ]

    async def poll() -> list[dict[str, Any]]:
        polled: list[dict[str, Any]] = []
        for _ in range(400):  # far more polls than the batch lasts
            polled.append((await alice.data(BATCH, {"id": batch["id"]}))["batch"])
            if polled[-1]["finished"]:
                break
        return polled

    async with subscription_client(alice.base_url, alice.token) as ws:
        updates, polled = await asyncio.gather(
            ws.collect(
                "subscription($id: ID!) { batchUpdates(batchId: $id) { finished "
                "counts { status count } executions { status } } }",
                {"id": batch["id"]},
                timeout=60,
            ),
            poll(),
        )
    assert polled[-1]["finished"], "the batch did not finish within the polls"
    assert updates[-1]["batchUpdates"]["finished"]
    assert [b for b in polled if not one_moment(b)] == []
    assert [u for u in updates if not one_moment(u["batchUpdates"])] == []
