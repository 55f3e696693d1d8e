"""Registration by invitation (SCRIPTBOX_REGISTRATION=invite), against
`scriptbox serve` of this module's own: `register` needs an unused,
unexpired invite code from an admin, and each code works exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import PASSWORD, GraphQLClient, unique_username
from tests.support.paths import REPO
from tests.support.processes import ServiceProcess, cli_environment

REGISTER = """
mutation($u: String!, $p: String!, $i: String) {
  register(username: $u, password: $p, invite: $i) { accessToken user { username } }
}
"""
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }"
INVITE = "mutation { createInvite }"
ADMIN = "root-admin"


@pytest.fixture(scope="module")
def by_invitation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("by-invitation")
    env = cli_environment(
        data_dir, SCRIPTBOX_REGISTRATION="invite", SCRIPTBOX_EMBEDDED_WORKER="false"
    )
    made = subprocess.run(
        [sys.executable, "-m", "roles.cli", "create-user", ADMIN, "--admin", "--password-stdin"],
        env=env,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert made.returncode == 0, made.stderr
    with ServiceProcess(env) as service:
        yield service.url, data_dir


@pytest.fixture
async def clients(by_invitation: tuple[str, Path]) -> AsyncIterator[tuple[GraphQLClient, ...]]:
    async with httpx.AsyncClient(timeout=60) as http:
        anon = GraphQLClient(by_invitation[0], None, http)
        token = (await anon.data(LOGIN, {"u": ADMIN, "p": PASSWORD}))["login"]["accessToken"]
        yield anon, anon.with_token(token)


def code(error: dict[str, Any]) -> str:
    return str(error["extensions"]["code"])


async def register(anon: GraphQLClient, invite: str | None, username: str | None = None) -> Any:
    return await anon.execute(
        REGISTER, {"u": username or unique_username("invited"), "p": PASSWORD, "i": invite}
    )


async def test_register_needs_an_invite_that_works_once(
    clients: tuple[GraphQLClient, GraphQLClient],
) -> None:
    anon, admin = clients
    refused = (await register(anon, None))["errors"][0]
    assert (code(refused), refused["message"]) == (
        "FORBIDDEN",
        "Registration is by invitation: ask an admin for an invite code.",
    )
    assert code((await register(anon, "made-up"))["errors"][0]) == "FORBIDDEN"

    invite = (await admin.data(INVITE))["createInvite"]
    # A registration that fails (the username is taken) leaves the code unused.
    taken = await register(anon, invite, ADMIN)
    assert code(taken["errors"][0]) == "ALREADY_EXISTS"
    attempts = await asyncio.gather(*(register(anon, invite) for _ in range(5)))
    winners = [a for a in attempts if not a.get("errors")]
    assert len(winners) == 1, attempts
    assert {code(a["errors"][0]) for a in attempts if a.get("errors")} == {"FORBIDDEN"}

    assert code(await anon.error(INVITE)) == "UNAUTHENTICATED"
    invited = anon.with_token(winners[0]["data"]["register"]["accessToken"])
    assert code(await invited.error(INVITE)) == "FORBIDDEN"


async def test_an_expired_invite_is_refused(
    clients: tuple[GraphQLClient, GraphQLClient], by_invitation: tuple[str, Path]
) -> None:
    anon, admin = clients
    invite = (await admin.data(INVITE))["createInvite"]
    digest = hashlib.sha256(invite.encode()).hexdigest()
    with contextlib.closing(sqlite3.connect(by_invitation[1] / "scriptbox.sqlite3")) as db, db:
        stored = db.execute("SELECT expires_at FROM invites WHERE code_hash = ?", (digest,))
        assert stored.fetchone() is not None, "only the code's hash is stored"
        db.execute(
            "UPDATE invites SET expires_at = ? WHERE code_hash = ?",
            ("2000-01-01 00:00:00+00:00", digest),
        )
    assert code((await register(anon, invite))["errors"][0]) == "FORBIDDEN"
