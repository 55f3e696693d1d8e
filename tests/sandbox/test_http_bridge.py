"""An http job's service answers on the host's unix socket, through the
runner's bridge, in a container that still has no network; the script can
neither write the socket's directory nor outlive the job's bridge."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox import DockerSandbox, OutputChunk, SandboxJob, SandboxLimits, SandboxOutcome

pytestmark = pytest.mark.docker

SERVICE = """
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        self._answer(b"")

    def do_POST(self):
        self._answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def _answer(self, body):
        seen = {"path": self.path, "body": body.decode(), "pid": os.getpid()}
        data = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

try:
    open("/run/scriptbox-http/planted", "w")
    planted = "written"
except OSError as exc:
    planted = type(exc).__name__
server = HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Answer)
print(json.dumps({"net": sorted(os.listdir("/sys/class/net")), "planted": planted}), flush=True)
if os.environ.get("ONE_REQUEST"):
    server.handle_request()
else:
    server.serve_forever()
"""


@dataclass
class Service:
    socket: Path
    started: dict[str, object]
    outcome: asyncio.Task[SandboxOutcome]
    cancel: asyncio.Event


def _request(path: Path, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        head = f"{method} {target} HTTP/1.1\r\nHost: svc\r\nContent-Length: {len(body)}\r\n"
        sock.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.fixture
async def start_service(sandbox: DockerSandbox, tmp_path: Path) -> AsyncIterator[object]:
    started: list[Service] = []

    async def start(env: dict[str, str] | None = None) -> Service:
        directory = tmp_path / f"svc-{uuid.uuid4().hex[:8]}"
        job = SandboxJob(
            execution_id=uuid.uuid4().hex,
            language="python",
            script=SERVICE.encode(),
            input_json=b"null",
            env=env or {},
            limits=SandboxLimits(timeout_seconds=120),
            http_socket_dir=str(directory),
        )
        first_line: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        stdout: list[str] = []

        async def on_output(chunk: OutputChunk) -> None:
            stdout.append(chunk.data)
            text = "".join(stdout)
            if "\n" in text and not first_line.done():
                first_line.set_result(text.partition("\n")[0])

        cancel = asyncio.Event()
        run = asyncio.create_task(sandbox.run(job, on_output, cancel))
        waiting: set[asyncio.Future[Any]] = {run, first_line}
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if first_line not in done:
            pytest.fail(f"the service never started: {run.result()}")
        service = Service(directory / "http.sock", json.loads(first_line.result()), run, cancel)
        started.append(service)
        return service

    yield start
    for service in started:
        service.cancel.set()
        await service.outcome


async def test_the_host_reaches_the_service_through_the_socket_without_network(
    start_service: object,
) -> None:
    service: Service = await start_service()  # type: ignore[operator]
    # No interface but loopback: the bridge is the only way in.
    assert service.started["net"] == ["lo"]
    # The script cannot put anything beside the socket (a symlink the host
    # would follow, files to fill the host's disk).
    assert service.started["planted"] == "PermissionError"
    info = os.lstat(service.socket)
    assert stat.S_ISSOCK(info.st_mode) and info.st_uid == 0
    assert not any(p.name != "http.sock" for p in service.socket.parent.iterdir())

    status, body = await asyncio.to_thread(_request, service.socket, "GET", "/hello?x=1")
    assert status == 200 and json.loads(body)["path"] == "/hello?x=1"
    # Concurrent connections and request bodies both go through.
    answers = await asyncio.gather(
        *(
            asyncio.to_thread(_request, service.socket, "POST", f"/n/{i}", b"x" * 100_000 * i)
            for i in range(1, 5)
        )
    )
    for i, (status, body) in enumerate(answers, start=1):
        assert status == 200 and json.loads(body) | {"pid": 0} == {
            "path": f"/n/{i}",
            "body": "x" * 100_000 * i,
            "pid": 0,
        }

    service.cancel.set()
    outcome = await service.outcome
    assert outcome.status.value == "cancelled"
    with pytest.raises(OSError):  # killed with its container: nobody listens
        await asyncio.to_thread(_request, service.socket, "GET", "/")


async def test_the_bridge_ends_with_the_job_and_keeps_the_stream_intact(
    start_service: object,
) -> None:
    service: Service = await start_service({"ONE_REQUEST": "1"})  # type: ignore[operator]
    status, _ = await asyncio.to_thread(_request, service.socket, "GET", "/once")
    assert status == 200
    outcome = await service.outcome
    # Succeeded: the runner's frames and their MAC came through whole.
    assert outcome.status.value == "succeeded", outcome.error_message
    assert not service.socket.exists()  # the runner removed it as the job ended
