"""HTTP through Scriptbox, end to end on the served process in both shapes:
a service started with `http: true` (a Python `http.server`, a JavaScript
`node:http` server) runs in a hardened sandbox container with no network
and answers requests sent to `scriptbox serve` at its `url`
(`/services/{id}/...`), through the API's proxy, the service's unix socket
and the runner's bridge to its `$PORT`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.roles.served.conftest import Served
from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually
from tests.support.services import DELETE, STOP, start, until, until_status
from tests.support.tree import script

PYTHON_SERVICE = """
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        seen = {"path": self.path, "headers": sorted(k.lower() for k in self.headers)}
        data = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Echo)
print("listening", flush=True)
server.serve_forever()
"""
JAVASCRIPT_SERVICE = """
const http = require("node:http");
http
  .createServer((request, response) => {
    response.setHeader("Content-Type", "application/json");
    response.end(JSON.stringify({ from: "node", url: request.url, method: request.method }));
  })
  .listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"));
"""
URL = "query($id: ID!) { service(id: $id) { id http public url status } }"


async def _answered(client: GraphQLClient, url: str, **headers: str) -> httpx.Response:
    """The first answer that is not the proxy's 502 of a service still starting."""

    async def answer() -> httpx.Response | None:
        response = await client.http.get(url, headers={**client.headers(), **headers})
        return None if response.status_code == 502 else response

    found: httpx.Response = await eventually(answer, f"{url} answers", every=0.2)
    return found


async def _http_service(
    client: GraphQLClient, name: str, content: str, public: bool = False
) -> dict[str, Any]:
    created = await script(client, name, content)
    started = await start(
        client, created["id"], name=name, http=True, public=public, restartPolicy="NEVER"
    )
    await until(client, started["id"], "listening", lambda s: "listening" in s["logs"])
    found: dict[str, Any] = (await client.data(URL, {"id": started["id"]}))["service"]
    assert found["url"] == f"/services/{started['id']}/"
    return found


async def test_a_python_service_answers_through_the_api(
    alice: GraphQLClient, anon: GraphQLClient, bob: GraphQLClient
) -> None:
    found = await _http_service(alice, "echo.py", PYTHON_SERVICE)
    url = f"{alice.base_url}{found['url']}hello/world?x=1"
    response = await _answered(alice, url, Cookie="session=secret")
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["path"] == "/hello/world?x=1"
    # The caller's credentials never reach the service; the proxy says who asked.
    assert "authorization" not in seen["headers"] and "cookie" not in seen["headers"]
    assert "x-forwarded-for" in seen["headers"]
    # Not public: without a token, or for another user, it is not there.
    for other in (anon, bob):
        refused = await other.http.get(url, headers=other.headers())
        assert refused.status_code == 404, refused.text
        assert json.loads(refused.text)["detail"]["code"] == "NOT_FOUND"

    await alice.data(STOP, {"id": found["id"]})
    await until_status(alice, found["id"], "STOPPED")
    gone = await alice.http.get(url, headers=alice.headers())
    assert gone.status_code == 502
    assert gone.json()["detail"]["code"] == "SERVICE_UNREACHABLE"


async def test_a_public_javascript_service_answers_anyone(
    alice: GraphQLClient, anon: GraphQLClient
) -> None:
    found = await _http_service(alice, "hello.js", JAVASCRIPT_SERVICE, public=True)
    assert found["public"] is True
    response = await _answered(anon, f"{anon.base_url}{found['url']}ping")
    assert response.status_code == 200, response.text
    assert response.json() == {"from": "node", "url": "/ping", "method": "GET"}
    await alice.data(STOP, {"id": found["id"]})
    await until_status(alice, found["id"], "STOPPED")


async def test_a_deleted_service_leaves_no_socket_directory(
    served: Served, alice: GraphQLClient
) -> None:
    found = await _http_service(alice, "deleted.py", PYTHON_SERVICE)
    # The worker's data dir (in both shapes the processes share one).
    data_dir = Path(served.processes[-1].env["SCRIPTBOX_DATA_DIR"])
    directory = data_dir / "service-sockets" / found["id"]
    assert (directory / "http.sock").is_socket()
    assert (await alice.data(DELETE, {"id": found["id"]}))["deleteService"] is True

    async def removed() -> bool:
        return not directory.exists()

    await eventually(removed, "the deleted service's socket directory is removed")
