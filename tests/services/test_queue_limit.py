"""The per-user queue limit counts runs that are queued *and* running, over
the served process: with a limit of 3 and two worker slots, a fourth run is
refused even while two of the three are already running."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.client import GraphQLClient, user_at
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.runs import CANCEL, GET, RUN
from tests.support.tree import script

LIMIT = 3
SLOTS = 2
LONG_RUN = "import time\ntime.sleep(120)\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data_dir: Path = tmp_path_factory.mktemp("queue-limit")
    env = cli_environment(
        data_dir,
        SCRIPTBOX_MAX_QUEUED_PER_USER=str(LIMIT),
        SCRIPTBOX_WORKER_CONCURRENCY=str(SLOTS),
    )
    with ServiceProcess(env) as service:
        yield service


@pytest.fixture
async def user(served: ServiceProcess) -> AsyncIterator[GraphQLClient]:
    async with user_at(served.url, "queue") as client:
        yield client


async def submit(client: GraphQLClient, script_id: str) -> dict[str, object]:
    return await client.execute(RUN, {"input": {"scriptId": script_id, "timeoutSeconds": 120}})


async def wait_until_running(client: GraphQLClient, ids: list[str], deadline: float) -> None:
    while True:
        statuses = [(await client.data(GET, {"id": i}))["execution"]["status"] for i in ids]
        if all(status == "RUNNING" for status in statuses):
            return
        assert time.monotonic() < deadline, f"runs did not start: {statuses}"
        await asyncio.sleep(0.2)


async def test_running_executions_count_toward_the_queue_limit(user: GraphQLClient) -> None:
    created = await script(user, "long.py", LONG_RUN)
    accepted: list[str] = []
    try:
        for _ in range(LIMIT):
            body = await submit(user, created["id"])
            assert not body.get("errors"), body
            accepted.append(body["data"]["runScript"]["id"])  # type: ignore[index]
        # Two of the three hold the worker's slots; only one is still queued.
        await wait_until_running(user, accepted[:SLOTS], time.monotonic() + 120)

        refused = await submit(user, created["id"])
        errors = refused.get("errors")
        if not errors:
            accepted.append(refused["data"]["runScript"]["id"])  # type: ignore[index]
        assert errors, f"a run past the limit was accepted: {refused}"
        assert errors[0]["extensions"]["code"] == "RATE_LIMITED"  # type: ignore[index]
        assert errors[0]["extensions"]["maxQueued"] == LIMIT  # type: ignore[index]
        assert "queued or running" in errors[0]["message"]  # type: ignore[index]

        # Cancelling a running one frees its place.
        await user.data(CANCEL, {"id": accepted[0]})
        again = await submit(user, created["id"])
        assert not again.get("errors"), again
        accepted.append(again["data"]["runScript"]["id"])  # type: ignore[index]
    finally:
        for execution_id in accepted:
            await user.execute(CANCEL, {"id": execution_id})
