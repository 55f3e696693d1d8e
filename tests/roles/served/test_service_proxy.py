"""HTTP through Scriptbox, end to end: a Python `http.server` running in a
hardened sandbox container with no network answers a request sent to
`scriptbox serve` at `/services/{id}/...`, through the API's proxy, the
service's unix socket and the runner's bridge to its `$PORT`.

The container is started here, as a worker starts an http service's job
(a `SandboxJob` naming the service's socket directory under the API's data
dir), so what is tested is the pipe, whoever supervises the service."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox import DockerSandbox, OutputChunk, SandboxConfig, SandboxJob, SandboxLimits
from tests.roles.served.conftest import Served
from tests.support.client import GraphQLClient
from tests.support.owners import owned_name
from tests.support.paths import REPO

pytestmark = pytest.mark.docker

SERVICE = """
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


@pytest.fixture(scope="module")
def sandbox_image() -> str:
    built = subprocess.run(
        [str(REPO / "scripts" / "build-sandbox-image.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if built.returncode != 0:
        pytest.fail(f"building the sandbox image failed:\n{built.stderr}")
    return built.stdout.strip().splitlines()[-1]


@pytest.fixture
async def sandbox(sandbox_image: str) -> AsyncIterator[DockerSandbox]:
    box = DockerSandbox(
        SandboxConfig(image=sandbox_image, owner=owned_name("served-http"), warm_pool_size=0)
    )
    await box.start()
    yield box
    await box.close()


async def test_a_sandboxed_http_service_answers_through_the_api(
    served: Served, alice: GraphQLClient, anon: GraphQLClient, sandbox: DockerSandbox
) -> None:
    service_id = str(uuid.uuid4())
    data_dir = Path(served.processes[0].env["SCRIPTBOX_DATA_DIR"])
    listening = asyncio.Event()

    async def on_output(chunk: OutputChunk) -> None:
        if "listening" in chunk.data:
            listening.set()

    job = SandboxJob(
        execution_id=service_id,
        language="python",
        script=SERVICE.encode(),
        input_json=b"null",
        limits=SandboxLimits(timeout_seconds=120),
        http_socket_dir=str(data_dir / "service-sockets" / service_id),
    )
    stop = asyncio.Event()
    run = asyncio.create_task(sandbox.run(job, on_output, stop))
    try:
        await asyncio.wait_for(listening.wait(), 60)
        url = f"{served.url}/services/{service_id}/hello/world?x=1"
        response = await alice.http.get(url, headers=alice.headers())
        assert response.status_code == 200, response.text
        seen = response.json()
        assert seen["path"] == "/hello/world?x=1"
        assert "authorization" not in seen["headers"]
        assert "x-forwarded-for" in seen["headers"]
        # Without a token, a service that is not public is not there.
        refused = await anon.http.get(url)
        assert refused.status_code == 404
        assert json.loads(refused.text)["detail"]["code"] == "NOT_FOUND"
    finally:
        stop.set()
        outcome = await run
    assert outcome.status.value == "cancelled"
    gone = await alice.http.get(f"{served.url}/services/{service_id}/", headers=alice.headers())
    assert gone.status_code == 502
