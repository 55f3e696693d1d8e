"""What the API's proxy adds to a small request to an HTTP service.

    python -m bench.service_proxy_latency [--requests 300]

Starts `scriptbox serve` (no worker, no scheduler, no warm pool) and a
stdlib HTTP server on a unix socket where the API looks for a service's
socket, then sends the same small GET, one at a time, straight to the socket
and through `/services/{id}/` (a signed-in caller, keep-alive on both), and
prints the medians and their difference as JSON, beside the API's floor
(`/healthz`, a route that does nothing, on the same connection). What the runner's bridge
inside a container adds is not counted here: it is a byte copy over a
loopback connection, the same either way.
"""

from __future__ import annotations

import argparse
import json
import socketserver
import statistics
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

import httpx

from bench import cleanup
from bench.service import scriptbox_serve, temp_dir

WARM_UP = 20
BODY = b'{"ok":true}'
REGISTER = """mutation($u: String!, $p: String!) {
  register(username: $u, password: $p) { accessToken } }"""


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the direct client uses it

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _timings(client: httpx.Client, url: str, count: int, headers: dict[str, str]) -> list[float]:
    for _ in range(WARM_UP):
        client.get(url, headers=headers).raise_for_status()
    found = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        found.append(time.perf_counter() - started)
        response.raise_for_status()
    return found


def _ms(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100)[q - 1] * 1000, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.service_proxy_latency")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args(argv)
    with cleanup.guarded():
        data_dir = temp_dir("proxy")
        api = scriptbox_serve(
            "proxy", data_dir, embedded_worker="false", scheduler="false", warm_pool_size="0"
        )
        service_id = str(uuid.uuid4())
        path = data_dir / "service-sockets" / service_id / "http.sock"
        path.parent.mkdir(parents=True)
        server = _UnixServer(str(path), _Answer)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with httpx.Client(timeout=30) as http:
                registered = http.post(
                    f"{api.url}/graphql",
                    json={"query": REGISTER, "variables": {"u": "bench", "p": "bench-pass-123"}},
                ).json()
                token = registered["data"]["register"]["accessToken"]
                # The API's own floor: a route that does nothing.
                floor = _timings(http, f"{api.url}/healthz", args.requests, {})
                through = _timings(
                    http,
                    f"{api.url}/services/{service_id}/hello",
                    args.requests,
                    {"Authorization": f"Bearer {token}"},
                )
            transport = httpx.HTTPTransport(uds=str(path))
            with httpx.Client(transport=transport, timeout=30) as direct_client:
                direct = _timings(direct_client, "http://service/hello", args.requests, {})
        finally:
            server.shutdown()
            api.stop()
    report = {
        "requests": args.requests,
        "direct_p50_ms": _ms(direct, 50),
        "direct_p90_ms": _ms(direct, 90),
        "proxied_p50_ms": _ms(through, 50),
        "proxied_p90_ms": _ms(through, 90),
        "added_p50_ms": round(_ms(through, 50) - _ms(direct, 50), 3),
        "api_floor_healthz_p50_ms": _ms(floor, 50),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
