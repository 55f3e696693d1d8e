"""One request to a service over its unix socket, and its response back.

httpx speaks HTTP/1.1 over a unix socket (`AsyncHTTPTransport(uds=...)`),
streams bodies both ways, has connect/read/write timeouts, and never follows
a redirect: the well-kept library this needs, already what the tests use.
The request goes to the transport itself, not through an `AsyncClient`: a
client would add headers the caller never sent (its `Accept-Encoding: gzip`
would have the service compress an answer for a caller who cannot read it),
keep a cookie jar, and log every request with the caller's query string.

A transport per request, so a connection per request: nothing of one
caller's exchange can reach another's, and a restarted service's new socket
is what the next request reaches. Keeping connections open would save about
a millisecond, but behind a service that writes a response's head and body
separately with Nagle's algorithm on (Python's `http.server` speaking
HTTP/1.1 does), each reused connection waits 40 ms for a delayed ACK inside
its container. The TLS context httpx would otherwise load for every
transport is built once and never used (the socket speaks plain HTTP).

Time: `connect_seconds` to reach the socket; `first_byte_seconds` for each
wait on the service (its response's head, then each read of its body);
`total_seconds` for the whole exchange. Size: a request body over
`max_request_bytes` is refused (413) before or while it streams; a response
announced over `max_response_bytes` is refused (502) before anything is
sent, and one that grows past it unannounced is cut off, which the caller
sees as a broken response rather than a whole one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from core.errors import (
    PayloadTooLarge,
    ServiceResponseTooLarge,
    ServiceTimedOut,
    ServiceUnreachable,
)
from graphql_api.service_proxy import headers
from graphql_api.service_proxy.limits import ProxyLimits

log = logging.getLogger(__name__)

_UNUSED_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
# The authority the service sees in the request line's URL; its Host header
# is the caller's, as sent.
_SERVICE_ORIGIN = "http://service"


class _RequestTooLarge(Exception):
    pass


class ResponseCut(Exception):
    """The service's response passed a cap after its head was sent: the
    exchange is aborted, so the caller cannot take a cut body for a whole one."""


async def forward(request: Request, socket: Path, prefix: str, limits: ProxyLimits) -> Response:
    """The service's answer to `request`, whose path starts with `prefix`.

    Raises PayloadTooLarge, ServiceUnreachable, ServiceTimedOut or
    ServiceResponseTooLarge before anything is sent to the caller."""
    deadline = asyncio.get_running_loop().time() + limits.total_seconds
    declared = _declared_length(request)
    if declared is not None and declared > limits.max_request_bytes:
        raise _too_large(limits)
    directory = open_socket_directory(socket)
    try:
        return await _exchange(request, directory, socket.name, prefix, limits, deadline)
    finally:
        # Connected (or failed) by now: the path is no longer needed.
        os.close(directory)


async def _exchange(
    request: Request,
    directory: int,
    name: str,
    prefix: str,
    limits: ProxyLimits,
    deadline: float,
) -> Response:
    transport = httpx.AsyncHTTPTransport(
        uds=socket_in(directory, name), verify=_UNUSED_TLS, retries=0
    )
    try:
        try:
            upstream = await _send(transport, _upstream_request(request, prefix, limits), deadline)
        except _RequestTooLarge:
            raise _too_large(limits) from None
        announced = upstream.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > limits.max_response_bytes:
            await upstream.aclose()
            raise ServiceResponseTooLarge(
                f"The service's response is larger than {limits.max_response_bytes} bytes."
            )
    except BaseException:
        await transport.aclose()
        raise
    response = StreamingResponse(
        _body(transport, upstream, limits.max_response_bytes, deadline),
        status_code=upstream.status_code,
    )
    response.raw_headers = headers.to_caller(upstream.headers.raw)
    return response


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    return int(raw) if raw is not None and raw.isdigit() else None


def _too_large(limits: ProxyLimits) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limits.max_request_bytes} bytes.")


def open_socket_directory(socket: Path) -> int:
    """The socket's directory, held open: connecting through
    /proc/self/fd/N/<name> keeps the path under the 108 bytes a unix
    socket's address may have, however deep the data dir is."""
    try:
        return os.open(socket.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        raise ServiceUnreachable("The service is not running.") from None


def socket_in(directory: int, name: str) -> str:
    """The path to connect to, once it is known to name a socket: never a
    symlink, whatever it points to (the directory is root's alone, see
    sandbox/http_sockets.py; this is the host's own check)."""
    try:
        found = os.stat(name, dir_fd=directory, follow_symlinks=False)
    except OSError:
        found = None
    if found is None or not stat.S_ISSOCK(found.st_mode):
        raise ServiceUnreachable("The service is not running.")
    return f"/proc/self/fd/{directory}/{name}"


def _upstream_request(request: Request, prefix: str, limits: ProxyLimits) -> httpx.Request:
    # The raw path, as the caller encoded it: nothing is rewritten.
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    rest = raw_path[len(prefix.encode()) :] or b"/"
    query: bytes = request.scope.get("query_string", b"")
    target = rest + (b"?" + query if query else b"")
    client_address = request.client.host if request.client is not None else ""
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    return httpx.Request(
        request.method,
        httpx.URL(_SERVICE_ORIGIN + target.decode("latin-1")),
        headers=headers.to_service(request.headers.raw, client_address, request.url.scheme, prefix),
        content=_capped(request, limits.max_request_bytes) if has_body else None,
        extensions={"timeout": _timeouts(limits)},
    )


def _timeouts(limits: ProxyLimits) -> dict[str, float]:
    return {
        "connect": limits.connect_seconds,
        "read": limits.first_byte_seconds,
        "write": limits.first_byte_seconds,
        "pool": limits.connect_seconds,
    }


async def _capped(request: Request, cap: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > cap:
            raise _RequestTooLarge
        if chunk:
            yield chunk


async def _send(
    transport: httpx.AsyncHTTPTransport, request: httpx.Request, deadline: float
) -> httpx.Response:
    try:
        async with asyncio.timeout_at(deadline):
            upstream = await transport.handle_async_request(request)
    except (httpx.TimeoutException, TimeoutError):
        raise ServiceTimedOut("The service did not answer in time.") from None
    except httpx.TransportError as exc:
        log.info("service socket %s: %s", request.url.path, exc)
        raise ServiceUnreachable("The service did not answer.") from None
    upstream.request = request
    return upstream


async def _body(
    transport: httpx.AsyncHTTPTransport, upstream: httpx.Response, cap: int, deadline: float
) -> AsyncIterator[bytes]:
    sent = 0
    chunks = upstream.aiter_raw()
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await anext(chunks, None)
            except (httpx.TimeoutException, TimeoutError):
                raise ResponseCut("the service's response outlasted the time limit") from None
            except httpx.TransportError as exc:
                raise ResponseCut(f"the service's response broke off: {exc}") from None
            if chunk is None:
                return
            sent += len(chunk)
            if sent > cap:
                raise ResponseCut(f"the service's response passed {cap} bytes")
            yield chunk
    finally:
        await upstream.aclose()
        await transport.aclose()
