"""A user's caps hold when their requests arrive at the same moment: each
is counted and written in one step, so of many at once exactly as many as
the cap allows pass and the rest are refused, on SQLite (one process) and on
PostgreSQL (many connections). Runs queued past `max_queued_per_user`, and
services up past `max_services_per_user`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.runs import CANCEL, RUN
from tests.support.servers import Service
from tests.support.services import DELETE, START
from tests.support.tree import script

pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

# Carried by no worker: the runs stay queued and the services wait to
# start, so every one of them counts and none takes a container.
NOBODY = "caps-at-once"
OVER = 20  # requests beyond the cap, all sent together with the rest
SCRIPT = "def main(data):\n    return data\n"


def codes(answers: list[dict[str, Any]]) -> list[str]:
    return [a["errors"][0]["extensions"]["code"] for a in answers if a.get("errors")]


async def test_runs_submitted_at_once_never_pass_the_queue_cap(
    service: Service, alice: GraphQLClient
) -> None:
    cap = service.settings.max_queued_per_user
    created = await script(alice, "waits.py", SCRIPT)
    run = {"input": {"scriptId": created["id"], "target": NOBODY}}
    answers = await asyncio.gather(*(alice.execute(RUN, run) for _ in range(cap + OVER)))
    accepted = [a["data"]["runScript"]["id"] for a in answers if not a.get("errors")]
    try:
        assert len(accepted) == cap, f"{len(accepted)} queued with a cap of {cap}"
        assert codes(answers) == ["RATE_LIMITED"] * OVER
    finally:
        for execution_id in accepted:
            await alice.execute(CANCEL, {"id": execution_id})


async def test_services_started_at_once_never_pass_the_services_cap(
    service: Service, alice: GraphQLClient
) -> None:
    cap = service.settings.max_services_per_user
    created = await script(alice, "serves.py", SCRIPT)
    start = {"input": {"scriptId": created["id"], "target": NOBODY}}
    answers = await asyncio.gather(*(alice.execute(START, start) for _ in range(cap + OVER)))
    accepted = [a["data"]["startService"]["id"] for a in answers if not a.get("errors")]
    try:
        assert len(accepted) == cap, f"{len(accepted)} services up with a cap of {cap}"
        assert codes(answers) == ["SERVICE_LIMIT_REACHED"] * OVER
    finally:
        for service_id in accepted:
            await alice.execute(DELETE, {"id": service_id})
