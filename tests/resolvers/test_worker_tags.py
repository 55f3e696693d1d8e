"""Where a run goes, through GraphQL on SQLite and PostgreSQL: a run, batch
or schedule may require a worker tag (a worker's name is one of its tags),
waits QUEUED and says why while no live worker carries it, and names the
worker that ran it; admins list the live workers; `runOnWorkers` runs once
on each live worker of a tag. The suite's service has one embedded worker,
so its name is the tag that is there, and any other is one that is not (the
tests with several worker processes are in tests/roles/scale_out)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually
from tests.support.runs import CANCEL
from tests.support.servers import Service
from tests.support.sharing import share
from tests.support.tree import folder, script

pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

PLACED = "id status target worker waitingFor result error { code }"
RUN = f"mutation($input: RunScriptInput!) {{ runScript(input: $input) {{ {PLACED} }} }}"
GET = f"query($id: ID!) {{ execution(id: $id) {{ {PLACED} }} }}"
WORKERS = "{ workers { name tags lastHeartbeatAt running concurrency } }"
BATCH_FIELDS = f"id size target finished executions {{ {PLACED} }}"
RUN_ON_WORKERS = f"""
mutation($tag: String!, $id: ID, $path: String, $input: JSON) {{
  runOnWorkers(tag: $tag, scriptId: $id, path: $path, input: $input) {{ {BATCH_FIELDS} }}
}}
"""
RUN_BATCH = f"""
mutation($id: ID!, $inputs: [JSON!]!, $target: String) {{
  runBatch(scriptId: $id, inputs: $inputs, target: $target) {{ {BATCH_FIELDS} }}
}}
"""
GET_BATCH = f"query($id: ID!) {{ batch(id: $id) {{ {BATCH_FIELDS} }} }}"
ECHO = "def main(data):\n    return data\n"
SLEEPING = "import time\ndef main(data):\n    time.sleep(60)\n"
# Due only on 29 February: no tick but this test's fires it.
ON_LEAP_DAY = "0 0 29 2 *"


def absent_tag() -> str:
    """A tag no worker of the suite carries."""
    return f"gpu-{secrets.token_hex(4)}"


def worker_of(service: Service) -> str:
    return service.settings.worker_name


async def run(client: GraphQLClient, script_id: str, **extra: Any) -> dict[str, Any]:
    data = await client.data(RUN, {"input": {"scriptId": script_id, **extra}})
    result: dict[str, Any] = data["runScript"]
    return result


async def finished_batch(client: GraphQLClient, batch_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        batch: dict[str, Any] = (await client.data(GET_BATCH, {"id": batch_id}))["batch"]
        return batch if batch["finished"] else None

    return await eventually(done, "the batch finishes")


async def test_a_run_for_a_worker_runs_there_and_names_it(
    alice: GraphQLClient, service: Service
) -> None:
    created = await script(alice, "placed.py", ECHO)
    name = worker_of(service)
    placed = await run(alice, created["id"], input=1, target=name, wait=True)
    assert (placed["status"], placed["result"]) == ("SUCCEEDED", 1), placed
    assert (placed["target"], placed["worker"], placed["waitingFor"]) == (name, name, None)
    anywhere = await run(alice, created["id"], input=2, wait=True)
    assert (anywhere["status"], anywhere["target"], anywhere["worker"]) == (
        "SUCCEEDED",
        None,
        name,
    )


async def test_a_run_for_a_tag_no_live_worker_has_waits_and_says_why(
    alice: GraphQLClient,
) -> None:
    created = await script(alice, "waits.py", ECHO)
    tag = absent_tag()
    waiting = await run(alice, created["id"], target=tag)
    assert (waiting["status"], waiting["target"]) == ("QUEUED", tag)
    try:
        # Queued after it, and run by the worker, which claims the oldest row
        # it may: had it been allowed the first, it would have taken that one.
        later = await run(alice, created["id"], input="later", wait=True)
        assert later["status"] == "SUCCEEDED", later
        still = (await alice.data(GET, {"id": waiting["id"]}))["execution"]
        assert (still["status"], still["worker"]) == ("QUEUED", None)
        assert still["waitingFor"] == f"No live worker has the tag '{tag}'."
    finally:
        cancelled = (await alice.data(CANCEL, {"id": waiting["id"]}))["cancelExecution"]
    assert cancelled["status"] == "CANCELLED"
    ended = (await alice.data(GET, {"id": waiting["id"]}))["execution"]
    assert ended["waitingFor"] is None  # only a queued run waits for anything


@pytest.mark.parametrize("tag", ["", "two words", "-leading", "a/b", "é", "x" * 129, "a,b"])
async def test_a_tag_outside_the_grammar_is_refused_everywhere(
    alice: GraphQLClient, tag: str
) -> None:
    created = await script(alice, f"tags-{secrets.token_hex(3)}.py", ECHO)
    attempts = [
        (RUN, {"input": {"scriptId": created["id"], "target": tag}}),
        (RUN_BATCH, {"id": created["id"], "inputs": [1], "target": tag}),
        (RUN_ON_WORKERS, {"tag": tag, "id": created["id"]}),
        (
            "mutation($input: CreateScheduleInput!) { createSchedule(input: $input) { id } }",
            {"input": {"scriptId": created["id"], "cron": ON_LEAP_DAY, "target": tag}},
        ),
    ]
    for document, variables in attempts:
        error = await alice.error(document, variables)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (document, error)
    left = await alice.data(
        "query($id: ID!) { executions(scriptId: $id) { id } schedules(scriptId: $id) { id } }",
        {"id": created["id"]},
    )
    assert left == {"executions": [], "schedules": []}


async def test_admins_see_the_live_workers_and_what_they_run(
    admin: GraphQLClient, alice: GraphQLClient, service: Service
) -> None:
    error = await alice.error(WORKERS)
    assert error["extensions"]["code"] == "FORBIDDEN"
    name = worker_of(service)
    created = await script(alice, "sleeps.py", SLEEPING)
    busy = await run(alice, created["id"], timeoutSeconds=120)
    try:

        async def running() -> bool:
            row = (await alice.data(GET, {"id": busy["id"]}))["execution"]
            return bool(row["status"] == "RUNNING")

        await eventually(running, "the run starts")
        workers = {w["name"]: w for w in (await admin.data(WORKERS))["workers"]}
    finally:
        await alice.data(CANCEL, {"id": busy["id"]})
    mine = workers[name]
    assert mine["tags"] == [name]
    assert mine["concurrency"] == service.settings.worker_concurrency
    assert mine["running"] >= 1
    seen = datetime.fromisoformat(mine["lastHeartbeatAt"])
    lost_after = timedelta(seconds=service.settings.worker_lost_after_seconds)
    assert datetime.now(UTC) - seen <= lost_after


async def test_run_on_workers_runs_once_on_each_worker_of_the_tag(
    alice: GraphQLClient, bob: GraphQLClient, service: Service
) -> None:
    created = await script(alice, "everywhere.py", ECHO)
    name = worker_of(service)
    batch = (
        await alice.data(RUN_ON_WORKERS, {"tag": name, "path": "everywhere.py", "input": "hi"})
    )["runOnWorkers"]
    assert (batch["size"], batch["target"]) == (1, name)
    done = await finished_batch(alice, batch["id"])
    [execution] = done["executions"]
    assert (execution["status"], execution["result"]) == ("SUCCEEDED", "hi")
    assert (execution["target"], execution["worker"]) == (name, name)

    nobody = absent_tag()
    error = await alice.error(RUN_ON_WORKERS, {"tag": nobody, "id": created["id"]})
    assert error["extensions"]["code"] == "NO_LIVE_WORKER"
    assert nobody in error["message"]
    # Another's script is not there for bob, whatever the tag.
    hidden = await bob.error(RUN_ON_WORKERS, {"tag": name, "id": created["id"]})
    assert hidden["extensions"]["code"] == "NOT_FOUND"
    runs = await alice.data(
        "query($id: ID!) { executions(scriptId: $id) { id } }", {"id": created["id"]}
    )
    assert len(runs["executions"]) == 1


async def test_a_batch_for_a_tag_places_every_run(alice: GraphQLClient, service: Service) -> None:
    created = await script(alice, "batched.py", ECHO)
    name = worker_of(service)
    placed = (await alice.data(RUN_BATCH, {"id": created["id"], "inputs": [1, 2], "target": name}))[
        "runBatch"
    ]
    done = await finished_batch(alice, placed["id"])
    assert done["target"] == name
    assert [(e["status"], e["target"], e["worker"]) for e in done["executions"]] == [
        ("SUCCEEDED", name, name)
    ] * 2

    tag = absent_tag()
    waiting = (await alice.data(RUN_BATCH, {"id": created["id"], "inputs": [3], "target": tag}))[
        "runBatch"
    ]
    try:
        later = await run(alice, created["id"], wait=True)
        assert later["status"] == "SUCCEEDED"
        [row] = (await alice.data(GET_BATCH, {"id": waiting["id"]}))["batch"]["executions"]
        assert (row["status"], row["target"]) == ("QUEUED", tag)
        assert row["waitingFor"] == f"No live worker has the tag '{tag}'."
    finally:
        await alice.data(
            "mutation($id: ID!) { cancelBatch(id: $id) { id } }", {"id": waiting["id"]}
        )


async def test_a_schedule_for_a_tag_places_its_runs(alice: GraphQLClient, service: Service) -> None:
    created = await script(alice, "ticks.py", ECHO)
    tag = absent_tag()
    schedule = (
        await alice.data(
            "mutation($input: CreateScheduleInput!) { createSchedule(input: $input) "
            "{ id target nextRunAt } }",
            {"input": {"scriptId": created["id"], "cron": ON_LEAP_DAY, "target": tag}},
        )
    )["createSchedule"]
    scheduler = service.process.scheduler
    assert scheduler is not None
    try:
        assert schedule["target"] == tag
        due = datetime.fromisoformat(schedule["nextRunAt"])
        [fired] = await scheduler.tick(due + timedelta(seconds=1))
        row = (await alice.data(GET, {"id": str(fired.id)}))["execution"]
        assert (row["status"], row["target"]) == ("QUEUED", tag)
        assert row["waitingFor"] == f"No live worker has the tag '{tag}'."
        await alice.data(CANCEL, {"id": row["id"]})
        cleared = await alice.data(
            "mutation($id: ID!) { updateSchedule(id: $id, input: {target: null}) { target } }",
            {"id": schedule["id"]},
        )
        assert cleared["updateSchedule"]["target"] is None
    finally:
        await alice.data("mutation($id: ID!) { deleteSchedule(id: $id) }", {"id": schedule["id"]})


async def test_run_on_workers_asks_what_a_run_asks_of_a_shared_script(
    alice: GraphQLClient, bob: GraphQLClient, service: Service
) -> None:
    """A viewer of a shared folder may not run its scripts on every worker
    (FORBIDDEN, nothing queued); a runner may, as with runScript."""
    shared = await folder(alice, f"fleet-{secrets.token_hex(3)}")
    created = await script(alice, "shared.py", ECHO, shared["id"])
    name = worker_of(service)
    grant = await share(alice, shared["id"], "VIEWER", user=bob)
    refused = await bob.error(RUN_ON_WORKERS, {"tag": name, "id": created["id"]})
    assert refused["extensions"]["code"] == "FORBIDDEN"
    runs = await alice.data(
        "query($id: ID!) { executions(scriptId: $id) { id } }", {"id": created["id"]}
    )
    assert runs["executions"] == []
    await alice.data("mutation($id: ID!) { unshareFolder(grantId: $id) }", {"id": grant["id"]})
    await share(alice, shared["id"], "RUNNER", user=bob)
    batch = (await bob.data(RUN_ON_WORKERS, {"tag": name, "id": created["id"]}))["runOnWorkers"]
    [execution] = (await finished_batch(bob, batch["id"]))["executions"]
    assert (execution["status"], execution["worker"]) == ("SUCCEEDED", name)


RUN_CODE = f"mutation($input: RunCodeInput!) {{ runCode(input: $input) {{ {PLACED} }} }}"


async def test_unsaved_code_goes_where_its_target_says(
    alice: GraphQLClient, service: Service
) -> None:
    code = {"language": "PYTHON", "content": ECHO, "input": 7}
    name = worker_of(service)
    placed = (await alice.data(RUN_CODE, {"input": {**code, "target": name, "wait": True}}))[
        "runCode"
    ]
    assert (placed["status"], placed["result"], placed["worker"]) == ("SUCCEEDED", 7, name)
    tag = absent_tag()
    waiting = (await alice.data(RUN_CODE, {"input": {**code, "target": tag}}))["runCode"]
    try:
        assert (waiting["status"], waiting["target"]) == ("QUEUED", tag)
        assert waiting["waitingFor"] == f"No live worker has the tag '{tag}'."
    finally:
        await alice.data(CANCEL, {"id": waiting["id"]})
    refused = await alice.error(RUN_CODE, {"input": {**code, "target": "two words"}})
    assert refused["extensions"]["code"] == "BAD_USER_INPUT", refused
