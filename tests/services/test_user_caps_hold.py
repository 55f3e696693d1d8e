"""What a submission's hold on its user's row leaves free: while one is
counted and written (services/user_caps.py), the user's other writes, each
of which references their row, go on. On PostgreSQL only: on SQLite any
transaction holds the process's one connection, by design."""

from __future__ import annotations

import asyncio

import pytest

from services.user_caps import counting_for
from tests.support.client import GraphQLClient
from tests.support.servers import Service
from tests.support.tree import CREATE_FOLDER

pytestmark = pytest.mark.parametrize("service", ["postgres"], indirect=True)

# Far longer than an insert takes; reached only when the insert waits for the hold.
BLOCKED_AFTER_SECONDS = 10


async def test_a_held_user_row_blocks_none_of_that_users_other_writes(
    service: Service, alice: GraphQLClient
) -> None:
    user_id = alice.user["id"]  # type: ignore[attr-defined]
    holding, release = asyncio.Event(), asyncio.Event()

    async def submission() -> None:
        async with counting_for(user_id):
            holding.set()
            await release.wait()

    held = asyncio.create_task(submission())
    await holding.wait()
    try:
        answer = await asyncio.wait_for(
            alice.execute(CREATE_FOLDER, {"name": "made-while-held"}), BLOCKED_AFTER_SECONDS
        )
    except TimeoutError:
        pytest.fail("creating a folder waited for a submission's hold on its owner's row")
    finally:
        release.set()
        await held
    assert "errors" not in answer, answer
    assert answer["data"]["createFolder"]["path"] == "made-while-held"
