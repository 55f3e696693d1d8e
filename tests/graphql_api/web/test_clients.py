"""Third-party clients against Scriptbox: the reference graphql-transport-ws
client (npm graphql-ws, run by node) and the Python `gql` client, both as the
README shows them (web/examples/)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
from types import ModuleType
from typing import Any

import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportConnectionFailed, TransportServerError
from gql.transport.websockets import WebsocketsTransport

from tests.support.client import GraphQLClient
from tests.support.paths import REPO
from tests.support.runs import UPDATES, run
from tests.support.tree import folder, script

pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

EXAMPLES = REPO / "web" / "examples"
SETUP_HINT = "run scripts/setup-web-assets.sh (make test runs it)"

COUNTING = (
    "import sys, time\n"
    "def main(data):\n"
    "    for i in range(data['n']):\n"
    "        print(f'line {i}', flush=True)\n"
    "        if i % 5 == 4:\n"
    "            print(f'note {i}', file=sys.stderr, flush=True)\n"
    "        time.sleep(data.get('pause', 0))\n"
    "    return {'printed': data['n']}\n"
)


async def node_example(*args: str) -> tuple[int, list[str], str]:
    node = shutil.which("node")
    assert node, f"node is missing: {SETUP_HINT}"
    assert (REPO / "web" / "node_modules" / "graphql-ws").is_dir(), SETUP_HINT
    process = await asyncio.create_subprocess_exec(
        node,
        str(EXAMPLES / "watch-execution.mjs"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode is not None
    return process.returncode, out.decode().splitlines(), err.decode()


async def test_graphql_ws_client_receives_every_event_in_order(alice: GraphQLClient) -> None:
    execution = await run(alice, COUNTING, input={"n": 20, "pause": 0.05}, wait=False)
    code, lines, stderr = await node_example(alice.base_url, alice.token or "", execution["id"])
    assert code == 0, stderr
    events = [json.loads(line) for line in lines]
    assert [e["seq"] for e in events] == list(range(len(events)))  # every one, in order
    assert [e["status"] for e in events[:2]] == ["QUEUED", "RUNNING"]
    stdout = "".join(e["data"] for e in events if e["stream"] == "STDOUT")
    stderr_text = "".join(e["data"] for e in events if e["stream"] == "STDERR")
    assert stdout == "".join(f"line {i}\n" for i in range(20))
    assert stderr_text == "".join(f"note {i}\n" for i in (4, 9, 14, 19))
    assert events[-1]["execution"] == {
        "status": "SUCCEEDED",
        "result": {"printed": 20},
        "error": None,
    }
    assert all(e["execution"] is None for e in events[:-1])
    assert "closed 1000" in stderr  # the client closed normally after `complete`


@pytest.mark.parametrize("token", ["not-a-token", ""])
async def test_graphql_ws_client_sees_4403_for_a_bad_token(
    alice: GraphQLClient, token: str
) -> None:
    execution = await run(alice, COUNTING, input={"n": 1})
    code, lines, stderr = await node_example(alice.base_url, token, execution["id"])
    assert code == 1 and lines == []
    assert "closed 4403 Forbidden" in stderr
    assert "failed: 4403 Forbidden" in stderr


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "watch_execution", EXAMPLES / "watch_execution.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_gql_readme_example(alice: GraphQLClient, capsys: pytest.CaptureFixture[str]) -> None:
    geology = await folder(alice, "geology")
    await script(
        alice,
        "analysis.py",
        "def main(data):\n    print('depth is', data['depth'])\n"
        "    return {'depth': data['depth'] * 2}\n",
        geology["id"],
    )
    example = load_example()
    assert alice.token is not None
    execution = await example.main(
        alice.base_url, alice.token, "geology/analysis.py", {"depth": 21}
    )
    assert execution == {"status": "SUCCEEDED", "result": {"depth": 42}, "error": None}
    assert capsys.readouterr().out == 'depth is 21\nSUCCEEDED {"depth": 42}\n'


def ws_url(client: GraphQLClient) -> str:
    return client.base_url.replace("http://", "ws://") + "/graphql"


@pytest.mark.parametrize(
    "protocol",
    [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL],
)
async def test_gql_follows_an_execution_in_both_protocols(
    alice: GraphQLClient, protocol: str
) -> None:
    execution = await run(alice, COUNTING, input={"n": 10, "pause": 0.05}, wait=False)
    transport = WebsocketsTransport(
        url=ws_url(alice),
        init_payload={"authorization": f"Bearer {alice.token}"},
        subprotocols=[protocol],
    )
    events: list[dict[str, Any]] = []
    async with Client(transport=transport) as session:
        request = GraphQLRequest(UPDATES, variable_values={"id": execution["id"]})
        async for result in session.subscribe(request):
            events.append(result["executionUpdates"])
    assert transport.subprotocol == protocol
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(len(events)))
    assert "".join(e["data"] for e in events if e["stream"] == "STDOUT") == "".join(
        f"line {i}\n" for i in range(10)
    )
    assert events[-1]["execution"]["result"] == {"printed": 10}


async def test_gql_is_refused_with_a_bad_token(alice: GraphQLClient) -> None:
    modern = WebsocketsTransport(
        url=ws_url(alice),
        init_payload={"authorization": "Bearer not-a-token"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    with pytest.raises(TransportConnectionFailed) as refused:
        async with Client(transport=modern):
            pass
    closed = refused.value.__cause__
    assert isinstance(closed, websockets.ConnectionClosed)
    assert closed.rcvd is not None and closed.rcvd.code == 4403

    legacy = WebsocketsTransport(
        url=ws_url(alice),
        init_payload={"authorization": "Bearer not-a-token"},
        subprotocols=[WebsocketsTransport.APOLLO_SUBPROTOCOL],
    )
    # The legacy protocol says why in connection_error before it closes.
    with pytest.raises(TransportServerError, match="Authentication required"):
        async with Client(transport=legacy):
            pass
