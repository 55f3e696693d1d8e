"""Two API processes on one PostgreSQL: a tree response kept by one process
is not reused once a change has gone through the other (the tree revision
lives in the database, not in a process)."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from harness.postgres import fresh_postgres_database
from tests.support.client import GraphQLClient, registered
from tests.support.processes import ServiceProcess, cli_environment
from tests.support.tree import folder, script

TREE = "{ tree { folders { name scripts { name version } } scripts { name } } }"
UPDATE = "mutation($id: ID!, $c: String!) { updateScript(id: $id, input: {content: $c}) { id } }"


async def test_a_change_through_one_api_is_in_the_next_tree_of_the_other(
    tmp_path: Path,
) -> None:
    async with fresh_postgres_database() as database_url:
        env = cli_environment(
            tmp_path / "data",
            SCRIPTBOX_DATABASE_URL=database_url,
            SCRIPTBOX_JWT_SECRET=secrets.token_urlsafe(32),
            SCRIPTBOX_STORAGE_DIR=str(tmp_path / "objects"),
            SCRIPTBOX_EMBEDDED_WORKER="false",
        )
        with ServiceProcess(env) as api_a, ServiceProcess(env) as api_b:
            async with httpx.AsyncClient(timeout=60) as http:
                a = await registered(GraphQLClient(api_a.url, None, http), "two")
                b = GraphQLClient(api_b.url, a.token, http)

                async def tree_on_a() -> dict[str, object]:
                    first = await a.data(TREE)
                    assert await a.data(TREE) == first  # the second is the kept one
                    tree: dict[str, object] = first["tree"]
                    return tree

                assert await tree_on_a() == {"folders": [], "scripts": []}
                made = await folder(b, "made-on-b")
                assert await tree_on_a() == {
                    "folders": [{"name": "made-on-b", "scripts": []}],
                    "scripts": [],
                }
                s = await script(b, "s.py", "x = 1\n", made["id"])
                await b.data(UPDATE, {"id": s["id"], "c": "x = 2\n"})
                assert await tree_on_a() == {
                    "folders": [{"name": "made-on-b", "scripts": [{"name": "s.py", "version": 2}]}],
                    "scripts": [],
                }
