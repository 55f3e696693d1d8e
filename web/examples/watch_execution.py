"""Run a script and follow its output live with the Python `gql` client
(queries over HTTP with aiohttp, the subscription over graphql-transport-ws).

    python web/examples/watch_execution.py http://127.0.0.1:8000 "$TOKEN" \
        geology/analysis.py '{"depth": 21}'
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.websockets import WebsocketsTransport

RUN = """mutation($path: String!, $input: JSON) {
  runScript(input: {path: $path, input: $input}) { id } }"""
UPDATES = """subscription($id: ID!) { executionUpdates(executionId: $id) {
  seq status stream data execution { status result error { code message } } } }"""


async def main(base: str, token: str, path: str, data: Any) -> dict[str, Any]:
    auth = f"Bearer {token}"
    http = AIOHTTPTransport(url=f"{base}/graphql", headers={"Authorization": auth})
    async with Client(transport=http) as session:
        run = await session.execute(
            GraphQLRequest(RUN, variable_values={"path": path, "input": data})
        )
    ws = WebsocketsTransport(
        url=base.replace("http", "ws", 1) + "/graphql",
        init_payload={"authorization": auth},  # a bad token closes the socket with 4403
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],  # graphql-transport-ws
    )
    async with Client(transport=ws) as session:
        request = GraphQLRequest(UPDATES, variable_values={"id": run["runScript"]["id"]})
        async for result in session.subscribe(request):
            event = result["executionUpdates"]
            if event["data"]:
                print(event["data"], end="")  # live output, in order
            if event["execution"]:
                print(event["status"], json.dumps(event["execution"]["result"]))
                return dict(event["execution"])
    raise RuntimeError("the subscription ended without a final event")


if __name__ == "__main__":
    base, token, path, data = sys.argv[1:5]
    asyncio.run(main(base, token, path, json.loads(data)))
