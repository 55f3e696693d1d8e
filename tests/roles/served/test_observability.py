"""Metrics, logs and their protection, against the processes users run:
`scriptbox serve` (with its embedded worker) and a `scriptbox worker` on one
PostgreSQL and Redis, sharing SCRIPTBOX_METRICS_DIR, logging JSON lines.

Each run is sent to one worker by name (`target`), so the counts one /metrics
shows prove that both processes' work is summed there."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.postgres import fresh_postgres_database
from tests.roles.served.conftest import Served
from tests.support.client import PASSWORD, GraphQLClient
from tests.support.deadlines import eventually
from tests.support.owners import owned_name
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.runs import EXECUTION_FIELDS
from tests.support.tree import script
from tests.support.ws import raw_socket

METRICS_TOKEN = "metrics-" + secrets.token_hex(8)
RUN_NAMED = (
    "mutation RunMine($input: RunScriptInput!) "
    f"{{ runScript(input: $input) {{ {EXECUTION_FIELDS} }} }}"
)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    data_dir = tmp_path_factory.mktemp("observed")
    async with fresh_postgres_database() as database_url:
        env = cli_environment(
            data_dir,
            SCRIPTBOX_WARM_POOL_SIZE="1",
            SCRIPTBOX_DATABASE_URL=database_url,
            SCRIPTBOX_REDIS_URL="redis://127.0.0.1:6379/0",
            SCRIPTBOX_REDIS_PREFIX=f"scriptbox-observed-{secrets.token_hex(4)}:",
            SCRIPTBOX_JWT_SECRET=secrets.token_urlsafe(32),
            SCRIPTBOX_METRICS_DIR=str(data_dir / "metrics"),
            SCRIPTBOX_METRICS_TOKEN=METRICS_TOKEN,
            SCRIPTBOX_LOG_FORMAT="json",
        )
        with ExitStack() as stack:
            api_env = {**env, "SCRIPTBOX_WORKER_NAME": owned_name(f"{data_dir.name}-api")}
            api = ServiceProcess(api_env, console_script=True)
            stack.callback(api.stop)
            api.start()
            worker_env = {**env, "SCRIPTBOX_WORKER_NAME": owned_name(f"{data_dir.name}-worker")}
            worker = ServiceProcess(worker_env, command="worker", console_script=True)
            stack.callback(worker.stop)
            worker.start()
            yield Served("observed", api.url, (api, worker))


def worker_names(served: Served) -> tuple[str, str]:
    api, worker = served.processes
    return api.env["SCRIPTBOX_WORKER_NAME"], worker.env["SCRIPTBOX_WORKER_NAME"]


async def scrape(client: GraphQLClient) -> Samples:
    response = await client.http.get(
        f"{client.base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        assert family.name.startswith("scriptbox_"), family.name
        for sample in family.samples:
            assert all(name == name.lower() for name in sample.labels), sample
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def run_on(
    client: GraphQLClient, script_id: str, target: str, **input: Any
) -> dict[str, Any]:
    variables = {"input": {"scriptId": script_id, "wait": True, "target": target, **input}}
    result: dict[str, Any] = (await client.data(RUN_NAMED, variables))["runScript"]
    return result


async def test_metrics_answer_only_with_the_token(anon: GraphQLClient) -> None:
    url = f"{anon.base_url}/metrics"
    missing = await anon.http.get(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    wrong = await anon.http.get(url, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert METRICS_TOKEN not in wrong.text
    right = await anon.http.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert right.status_code == 200


async def test_runs_of_every_process_are_counted(served: Served, alice: GraphQLClient) -> None:
    api_worker, separate_worker = worker_names(served)
    ok = await script(alice, "ok.py", "def main(data):\n    return data['n'] + 1\n")
    boom = await script(alice, "boom.py", "def main(data):\n    1 / 0\n")
    shell = await script(alice, "hi.sh", "echo hi\n")
    before = await scrape(alice)

    done = [
        await run_on(alice, ok["id"], api_worker, input={"n": 1}),
        await run_on(alice, boom["id"], separate_worker),
        await run_on(alice, shell["id"], separate_worker),
    ]
    assert [run["status"] for run in done] == ["SUCCEEDED", "FAILED", "SUCCEEDED"], done
    after = await scrape(alice)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ended = "scriptbox_executions_total"
    assert grew(ended, status="succeeded", language="python") == 1
    assert grew(ended, status="failed", language="python") == 1
    assert grew(ended, status="succeeded", language="shell") == 1
    assert grew("scriptbox_run_duration_seconds_count", language="python") == 2
    assert grew("scriptbox_run_duration_seconds_count", language="shell") == 1
    assert grew("scriptbox_queue_wait_seconds_count") == 3
    requests = "scriptbox_http_requests_total"
    assert grew(requests, route="/graphql", operation="runmine", status="200") == 3
    assert value(after, "scriptbox_queue_depth") == 0
    # Each process keeps its warm pool; the gauge is their sum.
    assert ("scriptbox_warm_pool_size", ()) in after


async def test_open_subscriptions_are_counted(alice: GraphQLClient) -> None:
    name = "scriptbox_active_subscriptions"
    before = value(await scrape(alice), name)
    created = await script(alice, "tick.py", "def main(data):\n    return 1\n")
    async with raw_socket(alice.base_url, alice.token) as socket:
        await socket.send_operation("1", "subscription { myExecutions { executionId status } }")
        # A first event proves the subscription is running on the server.
        await alice.data(RUN_NAMED, {"input": {"scriptId": created["id"]}})
        assert (await socket.next_message(timeout=60))["type"] == "next"
        assert value(await scrape(alice), name) == before + 1

    async def uncounted() -> bool:
        return value(await scrape(alice), name) == before

    await eventually(uncounted, "the closed subscription no longer counted")


CREATE_TOKEN = """
mutation($n: String!, $s: [TokenScope!]!) { createApiToken(name: $n, scopes: $s) { token } }
"""
LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { accessToken refreshToken }
}
"""


async def test_json_logs_name_requests_and_runs_and_never_a_secret(
    served: Served, alice: GraphQLClient
) -> None:
    api_worker, separate_worker = worker_names(served)
    username = (await alice.data("{ me { username id } }"))["me"]
    user_id = username["id"]
    secret = "s3cr3t-" + secrets.token_hex(8)
    await alice.data(
        "mutation($n: String!, $v: String!) { setSecret(name: $n, value: $v) { name } }",
        {"n": "DEEP_SECRET", "v": secret},
    )
    leaky = await script(
        alice,
        "leaky.py",
        "import os\ndef main(data):\n    print(os.environ['DEEP_SECRET'])\n"
        "    raise RuntimeError('no: ' + os.environ['DEEP_SECRET'])\n",
        secrets=["DEEP_SECRET"],
    )
    runs = [await run_on(alice, leaky["id"], name) for name in (api_worker, separate_worker)]
    assert [run["status"] for run in runs] == ["FAILED", "FAILED"], runs

    logged_in = (await alice.data(LOGIN, {"u": username["username"], "p": PASSWORD}))["login"]
    api_token = (await alice.data(CREATE_TOKEN, {"n": "ci", "s": ["READ"]}))["createApiToken"][
        "token"
    ]
    as_token = {"Authorization": f"Bearer {api_token}"}
    me = await alice.http.post(
        f"{alice.base_url}/graphql", json={"query": "{ me { id } }"}, headers=as_token
    )
    assert me.json()["data"]["me"]["id"] == user_id
    # Credentials where they do not belong: in URLs, which access logs print.
    await alice.http.get(
        f"{alice.base_url}/graphql",
        params={"query": "{ me { id } }", "access_token": api_token},
        headers={"Accept": "application/json"},
    )
    await alice.http.get(
        f"{alice.base_url}/graphql",
        params={
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) "
            "{ accessToken } }",
            "variables": json.dumps({"u": username["username"], "p": PASSWORD}),
        },
        headers={"Accept": "application/json"},
    )

    output = "\n".join(process.output() for process in served.processes)
    for value_ in (
        secret,
        PASSWORD,
        api_token,
        alice.token,
        logged_in["accessToken"],
        logged_in["refreshToken"],
    ):
        assert value_ and value_ not in output
    assert PASSWORD.replace(" ", "+") not in output and PASSWORD.replace(" ", "%20") not in output

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    requests = [line for line in lines if line.get("logger") == "uvicorn.access"]
    assert requests and all(line["request_id"] for line in requests)
    assert any(line["user_id"] == user_id for line in requests)
    for run in runs:
        ended = [line for line in lines if line.get("execution_id") == run["id"]]
        assert ended, f"no line of execution {run['id']}"
        assert all(line["user_id"] == user_id for line in ended)


@pytest.mark.parametrize("token", [None, "wrong"])
def test_metrics_are_off_without_the_setting(tmp_path: Path, token: str | None) -> None:
    env = cli_environment(tmp_path, SCRIPTBOX_EMBEDDED_WORKER="false", SCRIPTBOX_SCHEDULER="false")
    with ServiceProcess(env) as service:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.get(f"{service.url}/metrics", headers=headers)
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
