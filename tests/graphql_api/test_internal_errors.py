"""What a client is told when the fault is not theirs: a genuine internal
error is masked as INTERNAL_SERVER_ERROR with a `requestId` the message
quotes (and the log holds), never a stack trace; storage that cannot be
reached is SERVICE_UNAVAILABLE, and the failed change leaves nothing behind."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer

from models.executions import Execution
from tests.support.client import GraphQLClient, registered
from tests.support.processes import own_service
from tests.support.servers import free_port
from tests.support.tree import CREATE_SCRIPT, TREE, script

RUN = "mutation($id: ID!) { runScript(input: {scriptId: $id, input: {a: 1}}) { id } }"
EXECUTION_INPUT = "query($id: ID!) { execution(id: $id) { id input } }"
SCRIPT_CONTENT = "query($path: String!) { script(path: $path) { id content } }"
LEAKS = ("Traceback", "JSONDecodeError", 'File "', "line ", "Expecting")


async def test_an_internal_error_is_masked_with_a_request_id(
    alice: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    created = await script(alice, "corrupt.py", "print(1)\n")
    execution_id = (await alice.data(RUN, {"id": created["id"]}))["runScript"]["id"]
    # An operator's mistake: a hand edit of the database leaves a row whose
    # stored input is no longer JSON.
    await Execution.filter(id=execution_id).update(input_json='{"a": 1')

    with caplog.at_level(logging.ERROR, logger="scriptbox.errors"):
        response = await alice.post(EXECUTION_INPUT, {"id": execution_id})
    body = response.json()
    # The field that broke is null; the rest of the answer stands.
    assert body["data"] == {"execution": {"id": execution_id, "input": None}}, body
    [error] = body["errors"]
    request_id = error["extensions"]["requestId"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert request_id and request_id in error["message"]
    for leak in LEAKS:
        assert leak not in response.text, response.text
    # The operator finds the full story in the log under the same id.
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None


@pytest.fixture
def moto() -> ThreadedMotoServer:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    return server


async def test_unreachable_storage_is_service_unavailable(
    tmp_path: Path, moto: ThreadedMotoServer
) -> None:
    host, port = moto.get_host_and_port()
    try:
        async with (
            own_service(
                tmp_path,
                SCRIPTBOX_STORAGE="s3",
                SCRIPTBOX_S3_ENDPOINT=f"{host}:{port}",
                SCRIPTBOX_S3_ACCESS_KEY="testing",
                SCRIPTBOX_S3_SECRET_KEY="testing",
                SCRIPTBOX_S3_SECURE="false",
                SCRIPTBOX_S3_BUCKET="scriptbox-outage",
            ) as served,
            httpx.AsyncClient(timeout=120) as http,
        ):
            client = await registered(GraphQLClient(served.url, None, http), "outage")
            await script(client, "kept.py", "print('kept')\n")
            # S3 goes away while the service runs.
            await asyncio.to_thread(moto.stop)

            body = await client.execute(
                CREATE_SCRIPT, {"input": {"name": "lost.py", "content": "print(1)\n"}}
            )
            assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"]
            assert "storage" in body["errors"][0]["message"].lower()
            body = await client.execute(SCRIPT_CONTENT, {"path": "kept.py"})
            assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"]
            assert "Traceback" not in json.dumps(body)

            # The refused save left no row, and what needs no storage still works.
            tree = (await client.data(TREE))["tree"]
            assert [s["name"] for s in tree["scripts"]] == ["kept.py"]
            assert (await http.get(f"{served.url}/healthz")).status_code == 200
    finally:
        await asyncio.to_thread(moto.stop)
