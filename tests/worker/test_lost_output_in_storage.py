"""A run lost with its worker keeps what it printed also when that output
is past SCRIPTBOX_OUTPUT_INLINE_BYTES: the recovering process stores it as
an object (masked, as it was streamed) and every reader gets it back."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support.client import GraphQLClient, registered
from tests.support.crashed_run import (
    CAPPED_ENV,
    assert_kept_and_masked,
    new_secret,
    poll_execution,
    replayed_output,
    start_crashing_run,
)
from tests.support.owners import owned_name
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.ws import subscription_client
from tests.worker.test_output_persistence import files_containing


async def test_lost_run_output_goes_to_storage_past_the_inline_size(tmp_path: Path) -> None:
    secret = new_secret()
    data_dir = tmp_path / "data"
    worker = owned_name(f"lost-large-{tmp_path.name}")
    env = cli_environment(
        data_dir, SCRIPTBOX_WORKER_NAME=worker, SCRIPTBOX_OUTPUT_INLINE_BYTES="16", **CAPPED_ENV
    )
    first = ServiceProcess(env).start()
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            client = await registered(GraphQLClient(first.url, None, http))
            execution_id = await start_crashing_run(client, secret)
            await poll_execution(client, execution_id, until="second line")
    finally:
        first.kill()

    second = ServiceProcess(env)
    second.port, second.url = first.port, first.url
    second.start()
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            client.http = http
            execution = await poll_execution(client, execution_id, until="TERMINAL")
            assert_kept_and_masked(execution, secret)
            async with subscription_client(second.url, client.token) as ws:
                stdout, stderr, status = await replayed_output(ws, execution_id)
        assert (stdout, stderr, status) == (execution["stdout"], execution["stderr"], "FAILED")
    finally:
        second.stop()
    [stored] = [p for p in (data_dir / "objects" / "objects" / "outputs").rglob("*") if p.is_file()]
    assert stored.parent.name == execution_id
    assert json.loads(stored.read_text())["stdout"] == execution["stdout"]
    assert files_containing(data_dir, secret[:8].encode()) == []
