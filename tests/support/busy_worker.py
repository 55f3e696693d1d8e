"""Holding a service's only worker slot, so runs queued meanwhile stay
QUEUED until the test lets them go: for what must happen between queueing
and running (subscribing live, changing the script), without sleeping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually

CREATE = "mutation($input: CreateScriptInput!) { createScript(input: $input) { id } }"
QUEUE = "mutation($input: RunScriptInput!) { runScript(input: $input) { id status } }"
STATUS = "query($id: ID!) { execution(id: $id) { status } }"
CANCEL = "mutation($id: ID!) { cancelExecution(id: $id) { id } }"
ENDLESS = "import time\ndef main(data):\n    while True:\n        time.sleep(1)\n"


async def status_of(client: GraphQLClient, execution_id: str) -> str:
    return str((await client.data(STATUS, {"id": execution_id}))["execution"]["status"])


async def reaches(client: GraphQLClient, execution_id: str, status: str, deadline: float) -> None:
    async def there() -> bool:
        return await status_of(client, execution_id) == status

    await eventually(there, f"execution {execution_id} is {status}", deadline=deadline)


async def queue(client: GraphQLClient, script_id: str, **extra: Any) -> str:
    variables = {"input": {"scriptId": script_id, "wait": False, **extra}}
    return str((await client.data(QUEUE, variables))["runScript"]["id"])


@asynccontextmanager
async def busy_worker(client: GraphQLClient, name: str = "endless.py") -> AsyncIterator[None]:
    """The service must run with SCRIPTBOX_WORKER_CONCURRENCY=1: inside the
    block its one slot runs a script that never ends; leaving cancels it."""
    created = await client.data(CREATE, {"input": {"name": name, "content": ENDLESS}})
    endless = await queue(client, created["createScript"]["id"])
    await reaches(client, endless, "RUNNING", deadline=120)
    try:
        yield
    finally:
        await client.data(CANCEL, {"id": endless})
