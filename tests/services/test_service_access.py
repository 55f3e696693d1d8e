"""Who may start, see and stop services, and what stops them besides a
person: a deactivated owner, the per-user limit. On SQLite and PostgreSQL
(the `service` fixture), through GraphQL."""

from __future__ import annotations

from tests.support.client import GraphQLClient, registered
from tests.support.services import DELETE, SERVICES, STOP, TICKER, kinds, start, until_status
from tests.support.sharing import share, uid
from tests.support.tree import folder, script

SET_ACTIVE = "mutation($u: ID!, $a: Boolean!) { setUserActive(userId: $u, active: $a) { id } }"


async def test_a_runner_starts_and_stops_their_own_service_the_owner_sees_it(
    anon: GraphQLClient, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    carol = await registered(anon, "carol")
    shared = await folder(alice, "shared")
    created = await script(alice, "tick.py", TICKER, shared["id"])
    await share(alice, shared["id"], "VIEWER", carol)
    # A viewer may not run the script, so may not start it as a service.
    refused = await carol.error(
        "mutation($i: StartServiceInput!) { startService(input: $i) { id } }",
        {"i": {"scriptId": created["id"]}},
    )
    assert refused["extensions"]["code"] == "FORBIDDEN"
    await share(alice, shared["id"], "RUNNER", bob)
    started = await start(bob, created["id"])
    await until_status(bob, started["id"], "RUNNING")
    # The script's owner sees it (and may stop it); a viewer does not.
    assert started["id"] in [s["id"] for s in (await alice.data(SERVICES))["services"]]
    assert (await carol.data(SERVICES))["services"] == []
    stopped = (await bob.data(STOP, {"id": started["id"]}))["stopService"]
    assert stopped["status"] in ("STOPPING", "STOPPED")
    await until_status(alice, started["id"], "STOPPED")
    assert (await alice.data(DELETE, {"id": started["id"]}))["deleteService"] is True


async def test_a_deactivated_owner_s_services_stop(
    alice: GraphQLClient, admin: GraphQLClient
) -> None:
    created = await script(alice, "tick.py", TICKER)
    started = await start(alice, created["id"])
    await until_status(alice, started["id"], "RUNNING")
    await admin.data(SET_ACTIVE, {"u": uid(alice), "a": False})
    stopped = await until_status(admin, started["id"], "STOPPED")
    assert "stop" in kinds(stopped)
    stop = next(e for e in stopped["events"] if e["kind"] == "stop")
    assert stop["message"] == "its owner was deactivated"
    await admin.data(SET_ACTIVE, {"u": uid(alice), "a": True})
    await admin.data(DELETE, {"id": started["id"]})
