"""The API's proxy to users' HTTP services, `/services/{id}/...`: its routes
as `scriptbox serve` mounts them (with small caps of their own, on a port of
their own, sharing the suite's service's accounts, database and audit), in
front of a real HTTP server on the service's unix socket (what the runner's
bridge offers the host), and WebSockets relayed to a WebSocket server there.
The whole served path, container included, is tests/roles/served/test_service_proxy.py.

What crosses: the request and response as sent, streamed both ways, minus
hop-by-hop headers and the caller's credentials, plus the proxy's own
forwarding headers; redirects go back to the caller, unfollowed. What does
not: bodies over the caps, services that do not answer (502) or answer too
late (504), quickly and without holding up other requests."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection, unix_serve
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from core.service_states import RestartPolicy, ServiceStatus
from graphql_api import service_proxy
from models.services import Service as ServiceRow
from services.service_sockets import socket_path
from tests.support.client import GraphQLClient, registered
from tests.support.servers import Service, serving_app
from tests.support.tree import script
from tests.support.unix_http import QuietHandler, bindable, serving

# The proxy does not depend on the storage; one database is enough here.
pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

MAX_REQUEST = 64 * 1024
MAX_RESPONSE = 256 * 1024
FIRST_BYTE_SECONDS = 3.0
ANONYMOUS_PER_MINUTE = 3
WAIT = 30.0  # what a test's own events may take at most, on a busy machine


@dataclass
class Upstream:
    """What the service behind the socket saw, and the events it waits on."""

    requests: list[dict[str, object]] = field(default_factory=list)
    got_first_part: threading.Event = field(default_factory=threading.Event)
    first_chunk_read: threading.Event = field(default_factory=threading.Event)
    slow_request_arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(upstream: Upstream) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route()

        def _route(self) -> None:
            upstream.requests.append(
                {"path": self.path, "headers": [[k.lower(), v] for k, v in self.headers.items()]}
            )
            name = self.path.split("?")[0].strip("/").split("/")[0]
            getattr(self, f"_{name.replace('-', '_')}")()

        def _send(self, status: int, body: bytes, *extra: tuple[str, str]) -> None:
            self.send_response(status)
            for key, value in extra:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _echo(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            seen = {
                "method": self.command,
                "path": self.path,
                "headers": upstream.requests[-1]["headers"],
                "body_bytes": len(body),
            }
            self._send(
                200,
                json.dumps(seen).encode(),
                ("Content-Type", "application/json"),
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2"),
                ("X-Service-Hop", "private"),
                ("Connection", "X-Service-Hop"),
            )

        def _upload(self) -> None:
            length = int(self.headers["Content-Length"])
            first = self.rfile.read(1024)
            upstream.got_first_part.set()
            rest = self.rfile.read(length - len(first))
            self._send(200, str(len(first) + len(rest)).encode())

        def _drain(self) -> None:
            # Reads whatever comes (a chunked body, raw) until the proxy hangs up.
            while self.rfile.read1(65536):
                pass

        def _redirect(self) -> None:
            self._send(302, b"", ("Location", "http://elsewhere.invalid/steal"))

        def _big_declared(self) -> None:
            self._send(200, b"x" * (MAX_RESPONSE + 1))

        def _big_undeclared(self) -> None:
            # HTTP/1.0 without a length: the body ends when the connection does.
            self.send_response(200)
            self.end_headers()
            for _ in range(MAX_RESPONSE // 1024 + 8):
                self.wfile.write(b"y" * 1024)

        def _stream(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"first;")
            self.wfile.flush()
            answered = upstream.first_chunk_read.wait(WAIT)
            self.wfile.write(b"second" if answered else b"only-after-timeout")

        def _never(self) -> None:
            upstream.slow_request_arrived.set()
            upstream.release.wait(WAIT)

    return Handler


@dataclass
class Proxied:
    service: Service
    alice: GraphQLClient
    service_id: str
    upstream: Upstream

    def url(self, path: str, service_id: str | None = None) -> str:
        return f"{self.service.url}/services/{service_id or self.service_id}{path}"

    def socket_of(self, service_id: str) -> Path:
        return socket_path(self.service.settings, service_id)

    async def new_service(self, public: bool = False) -> str:
        return await http_service_of(self.alice, public=public)


async def http_service_of(owner: GraphQLClient, public: bool = False) -> str:
    """A service row of `owner`'s that answers HTTP (`http: true`), as
    startService leaves one; nothing supervises it here (no worker), so
    what answers on its socket is the test's own server."""
    made = await script(owner, f"svc-{uuid.uuid4().hex[:8]}.py", "print('up')\n")
    row = await ServiceRow.create(
        id=uuid.uuid4(),
        owner_id=owner.user["id"],  # type: ignore[attr-defined]
        script_id=made["id"],
        name="proxied",
        version=1,
        input_json="null",
        restart_policy=RestartPolicy.NEVER,
        max_restarts=0,
        http=True,
        public=public,
        desired_running=False,
        status=ServiceStatus.STOPPED,
    )
    return str(row.id)


@pytest.fixture(scope="module")
async def api(service: Service) -> AsyncIterator[Service]:
    """The proxy's routes with the caps above. (One process holds one
    service's ORM: the suite's, so these routes share its services.)"""
    settings = dataclasses.replace(
        service.settings,
        service_proxy_max_request_bytes=MAX_REQUEST,
        service_proxy_max_response_bytes=MAX_RESPONSE,
        service_proxy_first_byte_seconds=FIRST_BYTE_SECONDS,
        service_proxy_anonymous_per_minute=ANONYMOUS_PER_MINUTE,
    )
    app = Starlette(routes=service_proxy.routes(settings))
    app.state.services = service.process.services
    async with serving_app(app) as url:
        yield Service(url, settings, service.process)


@pytest.fixture
async def proxied(api: Service, service: Service) -> AsyncIterator[Proxied]:
    upstream = Upstream()
    async with httpx.AsyncClient(timeout=WAIT) as http:
        # Accounts and services are made through the suite's service.
        alice = await registered(GraphQLClient(service.url, None, http), "alice")
        service_id = await http_service_of(alice)
        with serving(socket_path(api.settings, service_id), _handler(upstream)):
            try:
                yield Proxied(api, alice, service_id, upstream)
            finally:
                upstream.release.set()
                upstream.first_chunk_read.set()


def _code(response: httpx.Response) -> str:
    code: str = response.json()["detail"]["code"]
    return code


async def test_a_request_crosses_without_the_callers_credentials(proxied: Proxied) -> None:
    response = await proxied.alice.http.post(
        proxied.url("/echo/a%2Fb?q=1&q=2"),
        content=b"hello",
        headers={
            **proxied.alice.headers(),
            "Cookie": "scriptbox_session=secret",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "X-Forwarded-For": "10.9.9.9",
            "X-Trace": "kept",
            "X-Per-Hop": "dropped",
            "Connection": "X-Per-Hop",
        },
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    headers = dict(seen["headers"])
    assert seen["method"] == "POST" and seen["body_bytes"] == 5
    assert seen["path"] == "/echo/a%2Fb?q=1&q=2"  # as the caller encoded it
    for secret in ("authorization", "cookie", "proxy-authorization", "x-per-hop"):
        assert secret not in headers
    assert proxied.alice.token is not None and proxied.alice.token not in json.dumps(seen)
    assert headers["x-trace"] == "kept"
    assert headers["x-forwarded-for"] == "127.0.0.1"  # the proxy's, not the caller's
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-prefix"] == f"/services/{proxied.service_id}"
    # The service's headers come back as sent, both cookies, minus its hop-by-hop ones.
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert "x-service-hop" not in response.headers


async def test_the_service_gets_no_header_the_caller_did_not_send(proxied: Proxied) -> None:
    async with httpx.AsyncClient(timeout=WAIT) as bare:
        for default in ("accept", "accept-encoding", "connection", "user-agent"):
            del bare.headers[default]
        response = await bare.get(proxied.url("/echo"), headers=proxied.alice.headers())
    assert response.status_code == 200, response.text
    # No Accept-Encoding the caller did not send: the service would compress
    # its answer for a caller who cannot read it.
    names = sorted(name for name, _ in response.json()["headers"])
    assert names == ["host", "x-forwarded-for", "x-forwarded-prefix", "x-forwarded-proto"]


async def test_a_redirect_goes_back_to_the_caller_unfollowed(proxied: Proxied) -> None:
    response = await proxied.alice.http.get(
        proxied.url("/redirect"), headers=proxied.alice.headers()
    )
    assert response.status_code == 302
    assert response.headers["location"] == "http://elsewhere.invalid/steal"
    assert [r["path"] for r in proxied.upstream.requests] == ["/redirect"]


async def test_request_bodies_stream_and_are_capped(proxied: Proxied) -> None:
    produced_after_service_read: list[bool] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"a" * 1024
        got = await asyncio.to_thread(proxied.upstream.got_first_part.wait, WAIT)
        produced_after_service_read.append(got)
        yield b"b" * 1024

    response = await proxied.alice.http.post(
        proxied.url("/upload"),
        content=body(),
        headers={**proxied.alice.headers(), "Content-Length": "2048"},
    )
    assert response.status_code == 200 and response.text == "2048"
    # The service read the first part before the caller had sent the second.
    assert produced_after_service_read == [True]

    declared = await proxied.alice.http.post(
        proxied.url("/echo"), content=b"z" * (MAX_REQUEST + 1), headers=proxied.alice.headers()
    )
    assert declared.status_code == 413 and _code(declared) == "PAYLOAD_TOO_LARGE"

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(MAX_REQUEST // 1024 + 8):
            yield b"z" * 1024

    streamed = await proxied.alice.http.post(
        proxied.url("/drain"), content=endless(), headers=proxied.alice.headers()
    )
    assert streamed.status_code == 413 and _code(streamed) == "PAYLOAD_TOO_LARGE"
    # The declared one never reached the service.
    assert "/echo" not in [r["path"] for r in proxied.upstream.requests]


async def test_responses_stream_and_are_capped(proxied: Proxied) -> None:
    async with proxied.alice.http.stream(
        "GET", proxied.url("/stream"), headers=proxied.alice.headers()
    ) as response:
        chunks = response.aiter_raw()
        first = await anext(chunks)
        # The head and the first bytes came while the service still waits.
        assert first == b"first;"
        proxied.upstream.first_chunk_read.set()
        rest = b"".join([c async for c in chunks])
    assert rest == b"second"

    announced = await proxied.alice.http.get(
        proxied.url("/big-declared"), headers=proxied.alice.headers()
    )
    assert announced.status_code == 502 and _code(announced) == "SERVICE_RESPONSE_TOO_LARGE"
    # Unannounced, it is cut off: the caller never takes it for a whole answer.
    with pytest.raises(httpx.TransportError):
        await proxied.alice.http.get(
            proxied.url("/big-undeclared"), headers=proxied.alice.headers()
        )


async def test_a_silent_service_gives_504_and_holds_up_nobody_else(proxied: Proxied) -> None:
    slow = asyncio.create_task(
        proxied.alice.http.get(proxied.url("/never"), headers=proxied.alice.headers())
    )
    assert await asyncio.to_thread(proxied.upstream.slow_request_arrived.wait, WAIT)
    meanwhile = await proxied.alice.http.get(proxied.url("/echo"), headers=proxied.alice.headers())
    assert meanwhile.status_code == 200
    assert not slow.done()
    timed_out = await slow
    assert timed_out.status_code == 504 and _code(timed_out) == "SERVICE_TIMED_OUT"


@pytest.fixture
async def hanging_up(proxied: Proxied) -> AsyncIterator[str]:
    """A socket that accepts and closes at once: the runner's bridge when
    the service is not listening on its port."""
    service_id = await proxied.new_service()
    path = proxied.socket_of(service_id)
    path.parent.mkdir(parents=True)
    listener = socket.socket(socket.AF_UNIX)
    with bindable(path) as address:
        listener.bind(address)
    listener.listen()

    def hang_up() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    yield service_id
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()


async def test_a_dead_service_gives_502(proxied: Proxied, hanging_up: str) -> None:
    stale = await proxied.new_service()  # its socket's listener is gone (a killed container)
    path = proxied.socket_of(stale)
    path.parent.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX) as gone, bindable(path) as address:
        gone.bind(address)
    never_started = await proxied.new_service()  # no socket at all
    for service_id in (stale, never_started, hanging_up):
        response = await proxied.alice.http.get(
            proxied.url("/", service_id), headers=proxied.alice.headers()
        )
        assert response.status_code == 502, service_id
        assert _code(response) == "SERVICE_UNREACHABLE"


async def test_who_may_reach_a_service(proxied: Proxied) -> None:
    http = proxied.alice.http
    forged = await http.get(proxied.url("/echo"), headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401 and _code(forged) == "UNAUTHENTICATED"
    data = await proxied.alice.data(
        'mutation { createApiToken(name: "ro", scopes: [READ]) { token } }'
    )
    read_only = {"Authorization": f"Bearer {data['createApiToken']['token']}"}
    refused = await http.get(proxied.url("/echo"), headers=read_only)
    assert refused.status_code == 403 and _code(refused) == "FORBIDDEN"
    # Another user does not see it.
    bob = await registered(GraphQLClient(proxied.alice.base_url, None, http), "bob")
    hidden = await http.get(proxied.url("/echo"), headers=bob.headers())
    assert hidden.status_code == 404 and _code(hidden) == "NOT_FOUND"
    # Public, anyone reaches it, with no token at all.
    await ServiceRow.filter(id=proxied.service_id).update(public=True)
    assert (await http.get(proxied.url("/echo"))).status_code == 200
    assert (await http.get(proxied.url("/echo"), headers=bob.headers())).status_code == 200
    assert (await http.get(proxied.url("/echo"), headers=read_only)).status_code == 200
    await ServiceRow.filter(id=proxied.service_id).update(public=False)
    # Anonymous callers are counted per address before anything is looked up.
    answers = [await http.get(proxied.url("/echo")) for _ in range(ANONYMOUS_PER_MINUTE)]
    assert [a.status_code for a in answers] == [404] * (ANONYMOUS_PER_MINUTE - 1) + [429]
    assert _code(answers[-1]) == "RATE_LIMITED"
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert len(proxied.upstream.requests) == 3  # the public ones
    # A signed-in caller is not held to the anonymous rate.
    assert (
        await http.get(proxied.url("/echo"), headers=proxied.alice.headers())
    ).status_code == 200


async def test_the_service_root_needs_its_slash(proxied: Proxied) -> None:
    response = await proxied.alice.http.get(
        f"{proxied.service.url}/services/{proxied.service_id}?x=1"
    )
    assert response.status_code == 308
    assert response.headers["location"].endswith(f"/services/{proxied.service_id}/?x=1")


@pytest.fixture
async def websocket_service(proxied: Proxied) -> AsyncIterator[str]:
    """A WebSocket service on its unix socket: it first says what it saw of
    the handshake, then echoes every message."""
    service_id = await proxied.new_service()
    path = proxied.socket_of(service_id)
    path.parent.mkdir(parents=True)

    async def echo(connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None
        await connection.send(
            json.dumps(
                {
                    "path": request.path,
                    "headers": sorted(k.lower() for k in request.headers),
                    "subprotocol": connection.subprotocol,
                }
            )
        )
        async for message in connection:
            await connection.send(message)

    with bindable(path) as address:
        async with unix_serve(echo, address, subprotocols=[Subprotocol("chat.v1")]):
            yield service_id


async def test_a_websocket_is_relayed_both_ways(proxied: Proxied, websocket_service: str) -> None:
    url = proxied.url("/live?room=1", websocket_service).replace("http://", "ws://")
    async with ws_connect(
        url,
        additional_headers=proxied.alice.headers(),
        subprotocols=[Subprotocol("chat.v1")],
        max_size=4 * MAX_REQUEST,
    ) as ws:
        seen = json.loads(await ws.recv())
        assert seen["path"] == "/live?room=1"
        assert "authorization" not in seen["headers"] and "x-forwarded-for" in seen["headers"]
        assert seen["subprotocol"] == ws.subprotocol == "chat.v1"
        await ws.send("hello")
        assert await ws.recv() == "hello"
        await ws.send(b"\x00\x01")
        assert await ws.recv() == b"\x00\x01"
        # A message over the request cap closes the relay: 1009, message too big.
        await ws.send("x" * (MAX_REQUEST + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_a_websocket_to_a_dead_or_hidden_service_is_refused(proxied: Proxied) -> None:
    url = proxied.url("/live", await proxied.new_service()).replace("http://", "ws://")
    with pytest.raises(InvalidStatus) as dead:
        async with ws_connect(url, additional_headers=proxied.alice.headers()):
            pass
    assert dead.value.response.status_code == 502
    with pytest.raises(InvalidStatus) as hidden:
        async with ws_connect(url):
            pass
    assert hidden.value.response.status_code in (404, 429)
