"""SIGKILL `scriptbox serve` while a run prints: after the restart the run is
FAILED (WORKER_LOST) and keeps what it printed up to a moment before the
crash, masked as it was streamed; a late subscriber is shown the same."""

from __future__ import annotations

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


def files_containing(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


async def test_output_printed_before_a_crash_of_the_service_is_kept(tmp_path: Path) -> None:
    secret = new_secret()
    data_dir = tmp_path / "data"
    worker = owned_name(f"persist-{tmp_path.name}")
    env = cli_environment(data_dir, SCRIPTBOX_WORKER_NAME=worker, **CAPPED_ENV)
    first = ServiceProcess(env).start()
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            client = await registered(GraphQLClient(first.url, None, http))
            execution_id = await start_crashing_run(client, secret)
            # The last line shows up seconds after the masked secret was printed.
            await poll_execution(client, execution_id, until="second line")
    finally:
        first.kill()
    # Nothing written before the crash holds the secret, whole or its start.
    assert files_containing(data_dir, secret[:8].encode()) == []

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
