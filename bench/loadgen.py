"""A small closed-loop HTTP/1.1 load generator: N clients, each with one
keep-alive connection, sending the same GraphQL POST back to back for a
fixed time. Raw asyncio streams, so the generator costs far less CPU per
request than the servers it drives (both targets of B5 get the same one)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.stats import Summary


@dataclass
class Load:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def latency(self) -> Summary:
        return Summary.of(self.latencies_ms)


def graphql_request(url: str, query: str, token: str | None = None) -> bytes:
    parts = urlsplit(url)
    body = json.dumps({"query": query}).encode()
    headers = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        "Accept: application/json",
        f"Content-Length: {len(body)}",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if length is not None:
        return status, await reader.readexactly(length)
    if not chunked:
        raise RuntimeError("response without Content-Length or chunked encoding")
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return status, bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


async def run_load(url: str, request: bytes, clients: int, seconds: float, expect: bytes) -> Load:
    """Closed loop for `seconds`; a response counts as an error unless it is
    200 and contains `expect`. Bounded by time; stops by itself."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    load = Load()
    start_gate = asyncio.Event()
    stop_at = [0.0]

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            await start_gate.wait()
            while True:
                sent = time.perf_counter()
                if sent >= stop_at[0]:
                    return
                writer.write(request)
                status, body = await _read_response(reader)
                done = time.perf_counter()
                load.requests += 1
                load.latencies_ms.append((done - sent) * 1000)
                if status != 200 or expect not in body or b'"errors"' in body:
                    load.errors += 1
        finally:
            writer.close()

    tasks = [asyncio.create_task(client()) for _ in range(clients)]
    await asyncio.sleep(0.2)  # all connections open
    started = time.perf_counter()
    stop_at[0] = started + seconds
    start_gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), seconds + 60)
    load.seconds = time.perf_counter() - started
    return load
