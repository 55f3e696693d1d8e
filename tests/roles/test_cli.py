"""The `scriptbox` command, run as a user would: as a separate process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from roles.admin import schema_sdl
from tests.support.client import PASSWORD
from tests.support.paths import REPO
from tests.support.servers import free_port


def scriptbox(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "roles.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTBOX_")}
    env["SCRIPTBOX_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_schema_graphql_is_current() -> None:
    committed = (REPO / "schema.graphql").read_text()
    assert committed == schema_sdl(), (
        "schema.graphql is stale: run `make schema` (scriptbox export-schema) and commit it"
    )


def test_export_schema_to_stdout(cli_env: dict[str, str]) -> None:
    result = scriptbox("export-schema", "--output", "-", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "type Query" in result.stdout
    assert "createScript(input: CreateScriptInput!): Script!" in result.stdout


def test_migrate_is_idempotent(cli_env: dict[str, str]) -> None:
    first = scriptbox("migrate", env=cli_env)
    assert first.returncode == 0, first.stderr
    assert "applied 0_" in first.stdout
    second = scriptbox("migrate", env=cli_env)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout


def test_create_user_rejects_bad_input(cli_env: dict[str, str]) -> None:
    result = scriptbox("create-user", "x", "--password-stdin", env=cli_env, stdin="short\n")
    assert result.returncode == 1
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_is_named(cli_env: dict[str, str]) -> None:
    result = scriptbox("migrate", env={**cli_env, "SCRIPTBOX_STORAGE": "floppy"})
    assert result.returncode == 2
    assert "SCRIPTBOX_STORAGE" in result.stderr


def test_serve_and_admin_sees_all(cli_env: dict[str, str]) -> None:
    """`create-user --admin`, then `serve`: the admin reads another user's tree."""
    made = scriptbox(
        "create-user",
        "root-admin",
        "--admin",
        "--password-stdin",
        env=cli_env,
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert "created admin user root-admin" in made.stdout

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "roles.cli", "serve", "--port", str(port)],
        env={**cli_env, "SCRIPTBOX_EMBEDDED_WORKER": "false"},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "service did not start"
            time.sleep(0.2)

        def gql(query: str, variables: dict[str, object], token: str | None = None) -> dict:  # type: ignore[type-arg]
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = httpx.post(
                f"{base}/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            return response.json()  # type: ignore[no-any-return]

        user = gql(
            'mutation($p: String!) { register(username: "plain-user", password: $p) '
            "{ accessToken user { id } } }",
            {"p": PASSWORD},
        )["data"]["register"]
        created = gql(
            'mutation { createScript(input: {name: "mine.py", content: "x = 1\\n"}) { id } }',
            {},
            user["accessToken"],
        )["data"]["createScript"]
        admin = gql(
            'mutation($p: String!) { login(username: "root-admin", password: $p) '
            "{ accessToken user { id isAdmin } } }",
            {"p": PASSWORD},
        )["data"]["login"]
        assert admin["user"]["isAdmin"] is True
        seen = gql(
            "query($id: ID!) { script(id: $id) { name content } }",
            {"id": created["id"]},
            admin["accessToken"],
        )
        assert seen["data"]["script"] == {"name": "mine.py", "content": "x = 1\n"}
        tree = gql(
            "query($o: ID) { tree(ownerId: $o) { scripts { name } } }",
            {"o": user["user"]["id"]},
            admin["accessToken"],
        )
        assert tree["data"]["tree"]["scripts"] == [{"name": "mine.py"}]
        # A plain user cannot read the admin's (real) tree by id: to them it
        # does not exist.
        denied = gql(
            "query($o: ID) { tree(ownerId: $o) { scripts { name } } }",
            {"o": admin["user"]["id"]},
            user["accessToken"],
        )
        assert denied["data"] is None
        assert denied["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert denied["errors"][0]["message"] == "User not found."
        graphiql = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})
        assert graphiql.status_code == 200
        assert "graphiql" in graphiql.text.lower()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
