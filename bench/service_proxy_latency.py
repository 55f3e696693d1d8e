"""Services over HTTP: what the API's proxy adds to a small request, and how
long a started service takes to answer through it.

    python -m bench.service_proxy_latency [--requests 300] [--rounds 3] [--starts 5]
    python -m bench.service_proxy_latency --profile bench/results/proxy-profile

Starts `scriptbox serve` (its embedded worker, no scheduler, no warm pool),
registers a user, makes an API token with the RUN scope, creates a Python
script that serves `http.server` on `$PORT`, and starts it with
`startService(input: {scriptId, http: true, restartPolicy: NEVER})`: a real
service row, reached through the real access check and a real container
(no network; the runner's bridge offers its port as a unix socket).

1. Latency: the same small GET, one at a time with keep-alive, straight to
   the service's socket (`<data dir>/service-sockets/<id>/http.sock`: the
   runner's bridge and the service, no API) and through `/services/{id}/`
   with the API token and with a signed-in session's access token, beside
   the API's floor (`/healthz`, a route that does nothing); the proxy's
   admission alone (a stopped service of the same owner: authenticated,
   access checked, then 502 with no socket to connect to); and straight to
   the socket with a new connection per request, as the proxy connects.
   `--rounds` rounds of `--requests` each; p50 and p90 per round, and the
   median of the rounds.
2. Start: `--starts` times, a new service is started and polled through the
   proxy every POLL_SECONDS until it answers 200; the time from sending
   `startService` and from its answer to that first 200 (the poll interval
   is the resolution). Each is stopped and deleted before the next.

`--profile DIR` instead samples the API process with py-spy (bench/profiling.py)
during one round of proxied requests and prints where its time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench import cleanup, profiling
from bench.gql import PASSWORD
from bench.service import Process, scriptbox_serve, temp_dir

WARM_UP = 20
POLL_SECONDS = 0.01
START_DEADLINE_SECONDS = 120.0
STOP_DEADLINE_SECONDS = 60.0
SERVICE = """
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b'{"ok":true}'

class Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the direct client uses it
    # Head and body are two writes: with Nagle's algorithm on, the body of
    # each request after a connection's first waits for a delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Answer).serve_forever()
"""
REGISTER = """mutation($u: String!, $p: String!) {
  register(username: $u, password: $p) { accessToken } }"""
API_TOKEN = """mutation { createApiToken(name: "bench", scopes: [RUN], expiresInDays: 1) {
  token } }"""
CREATE_SCRIPT = """mutation($name: String!, $content: String!) {
  createScript(input: {name: $name, content: $content}) { id } }"""
START = """mutation($id: ID!) {
  startService(input: {scriptId: $id, http: true, restartPolicy: NEVER}) { id status } }"""
STOP = "mutation($id: ID!) { stopService(id: $id) { id status } }"
DELETE = "mutation($id: ID!) { deleteService(id: $id) }"
STATUS = "query($id: ID!) { service(id: $id) { status lastExitCode logs(tail: 20) } }"


class Api:
    """GraphQL over one keep-alive connection, as `token`."""

    def __init__(self, http: httpx.Client, url: str, token: str = "") -> None:
        self.http = http
        self.url = url
        self.token = token

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=self.headers(),
        )
        body: dict[str, Any] = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"{response.status_code}: {json.dumps(body)[:2000]}")
        found: dict[str, Any] = body["data"]
        return found

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def _timings(
    client: httpx.Client, url: str, count: int, headers: dict[str, str], expect: int = 200
) -> list[float]:
    found = []
    for n in range(WARM_UP + count):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        if n >= WARM_UP:
            found.append(time.perf_counter() - started)
        if response.status_code != expect:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:500]}")
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ms(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100)[q - 1] * 1000, 3)


def _first_answer(http: httpx.Client, url: str, headers: dict[str, str]) -> float:
    """perf_counter() when `url` first answers 200 (a service still starting
    is the proxy's 502)."""
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        response = http.get(url, headers=headers)
        if response.status_code == 200:
            return time.perf_counter()
        if response.status_code != 502:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:500]}")
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"{url} did not answer in {START_DEADLINE_SECONDS} s")


def _start(api: Api, script_id: str) -> tuple[str, float, float]:
    """The new service's id, when startService was sent and when it answered."""
    sent = time.perf_counter()
    service_id = str(api.data(START, {"id": script_id})["startService"]["id"])
    return service_id, sent, time.perf_counter()


def _stop(api: Api, service_id: str, delete: bool = True) -> None:
    api.data(STOP, {"id": service_id})
    deadline = time.monotonic() + STOP_DEADLINE_SECONDS
    while api.data(STATUS, {"id": service_id})["service"]["status"] not in ("STOPPED", "FAILED"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"service {service_id} did not stop")
        time.sleep(0.2)
    if delete:
        api.data(DELETE, {"id": service_id})


def _latency_round(
    serve: Process,
    data_dir: Path,
    service_id: str,
    stopped_id: str,
    count: int,
    tokens: dict[str, str],
) -> dict[str, float]:
    url = f"{serve.url}/services/{service_id}/hello"
    socket = data_dir / "service-sockets" / service_id / "http.sock"
    series: dict[str, list[float]] = {}
    # The API's own CPU per request (all its threads), which the machine's
    # load stretches less than the wall-clock time.
    api_cpu_ms: dict[str, float] = {}
    auth = {"Authorization": f"Bearer {tokens['api_token']}"}
    with httpx.Client(timeout=30) as http:
        through_api: list[tuple[str, str, dict[str, str], int]] = [
            ("floor", f"{serve.url}/healthz", {}, 200)
        ]
        through_api += [
            (name, url, {"Authorization": f"Bearer {token}"}, 200) for name, token in tokens.items()
        ]
        # Admitted, then refused at once (502: no socket): the proxy's cost
        # before it connects, the caller's authentication and access check.
        stopped_url = f"{serve.url}/services/{stopped_id}/hello"
        through_api.append(("admission_only", stopped_url, auth, 502))
        for name, target, headers, expect in through_api:
            before = _cpu_seconds(serve.pid)
            series[name] = _timings(http, target, count, headers, expect)
            spent = _cpu_seconds(serve.pid) - before
            api_cpu_ms[name] = round(spent * 1000 / (count + WARM_UP), 3)
    transport = httpx.HTTPTransport(uds=str(socket))
    with httpx.Client(transport=transport, timeout=30) as direct:
        series["direct"] = _timings(direct, "http://service/hello", count, {})
    # What the proxy does: a new connection (and so a new bridged one) each time.
    fresh = {"Connection": "close"}
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket)), timeout=30) as direct:
        series["direct_new_connection"] = _timings(direct, "http://service/hello", count, fresh)
    found = {}
    for name, values in series.items():
        found[f"{name}_p50_ms"] = _ms(values, 50)
        found[f"{name}_p90_ms"] = _ms(values, 90)
        if name in api_cpu_ms:
            found[f"{name}_api_cpu_ms"] = api_cpu_ms[name]
    return found


def _median_of(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in rounds), 3) for key in rounds[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.service_proxy_latency")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--profile", type=Path, help="sample the API with py-spy instead")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"load_average_at_start": os.getloadavg()}
    with cleanup.guarded():
        data_dir = temp_dir("svc")
        serve = scriptbox_serve("svc", data_dir, scheduler="false", warm_pool_size="0")
        with httpx.Client(timeout=60) as http:
            anonymous = Api(http, serve.url)
            access = anonymous.data(REGISTER, {"u": "bench-svc", "p": PASSWORD})
            person = Api(http, serve.url, access["register"]["accessToken"])
            api_token = person.data(API_TOKEN)["createApiToken"]["token"]
            script_id = person.data(CREATE_SCRIPT, {"name": "answer.py", "content": SERVICE})[
                "createScript"
            ]["id"]
            tokens = {"api_token": api_token, "access_token": person.token}

            auth = {"Authorization": f"Bearer {api_token}"}
            stopped_id, _, _ = _start(person, script_id)
            _first_answer(http, f"{serve.url}/services/{stopped_id}/", auth)
            _stop(person, stopped_id, delete=False)
            service_id, _, _ = _start(person, script_id)
            _first_answer(http, f"{serve.url}/services/{service_id}/", auth)
            if args.profile is not None:
                return _profile(args, serve, service_id, api_token)
            rounds = [
                _latency_round(serve, data_dir, service_id, stopped_id, args.requests, tokens)
                for _ in range(args.rounds)
            ]
            _stop(person, service_id)
            person.data(DELETE, {"id": stopped_id})

            from_request, from_answer = [], []
            for _ in range(args.starts):
                service_id, sent, answered = _start(person, script_id)
                first = _first_answer(http, f"{serve.url}/services/{service_id}/", auth)
                from_request.append(first - sent)
                from_answer.append(first - answered)
                _stop(person, service_id)
        serve.stop()
    report.update(
        {
            "requests_per_series": args.requests,
            "latency_median_of_rounds": _median_of(rounds),
            "latency_rounds": rounds,
            "starts": args.starts,
            "start_to_first_answer_ms": {
                "from_request_median": round(statistics.median(from_request) * 1000, 1),
                "from_answer_median": round(statistics.median(from_answer) * 1000, 1),
                "from_request_all": [round(s * 1000, 1) for s in from_request],
                "from_answer_all": [round(s * 1000, 1) for s in from_answer],
            },
            "load_average_at_end": os.getloadavg(),
        }
    )
    print(json.dumps(report, indent=2))
    return 0


def _profile(args: argparse.Namespace, serve: Process, service_id: str, token: str) -> int:
    url = f"{serve.url}/services/{service_id}/hello"
    with profiling.session(args.profile) as session, httpx.Client(timeout=30) as http:
        with profiling.phase("proxied", serve.pid):
            _timings(http, url, args.requests, {"Authorization": f"Bearer {token}"})
        recording = session.recordings.get("proxied")
    if recording is None:
        raise RuntimeError("py-spy recorded nothing (is it installed?)")
    print(json.dumps(profiling.summarize(recording), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
