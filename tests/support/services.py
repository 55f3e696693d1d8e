"""GraphQL documents and helpers for the services tests."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually

SERVICE_FIELDS = """id name version status restartPolicy restarts startedAt lastExitCode
  http public url worker resources { peakMemoryBytes cpuUserSeconds wallSeconds }
  script { id name }"""
START = f"""
mutation($input: StartServiceInput!) {{ startService(input: $input) {{ {SERVICE_FIELDS} }} }}
"""
STOP = f"mutation($id: ID!) {{ stopService(id: $id) {{ {SERVICE_FIELDS} }} }}"
RESTART = f"""
mutation($id: ID!, $current: Boolean) {{
  restartService(id: $id, toCurrentVersion: $current) {{ {SERVICE_FIELDS} }} }}
"""
DELETE = "mutation($id: ID!) { deleteService(id: $id) }"
SERVICE = f"""
query($id: ID!, $tail: Int) {{ service(id: $id) {{ {SERVICE_FIELDS} logs(tail: $tail)
  events(first: 100) {{ at kind version exitCode message cursor }} }} }}
"""
SERVICES = f"{{ services {{ {SERVICE_FIELDS} }} }}"
STATS = """
query($days: Int, $tz: String) { serviceStats(days: $days, timeZone: $tz) {
  label deployments failures } }
"""
LOGS = "subscription($id: ID!) { serviceLogs(serviceId: $id) }"
MY_SERVICES = "subscription { myServices { id status version } }"

# Prints a numbered line five times a second; on SIGTERM says goodbye and
# exits 0 (a graceful stop).
TICKER = (
    "import signal, sys, time\n"
    "def bye(*_):\n"
    "    print('got SIGTERM, bye', flush=True)\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, bye)\n"
    "n = 0\n"
    "while True:\n"
    "    print('tick', n, flush=True)\n"
    "    n += 1\n"
    "    time.sleep(0.2)\n"
)


async def start(client: GraphQLClient, script_id: str, **input: Any) -> dict[str, Any]:
    data = await client.data(START, {"input": {"scriptId": script_id, **input}})
    result: dict[str, Any] = data["startService"]
    return result


async def service(client: GraphQLClient, service_id: str, tail: int = 200) -> dict[str, Any]:
    data = await client.data(SERVICE, {"id": service_id, "tail": tail})
    result: dict[str, Any] = data["service"]
    return result


async def until(
    client: GraphQLClient, service_id: str, what: str, check: Any, deadline: float = 120
) -> dict[str, Any]:
    """The service once `check(service)` holds."""

    async def probe() -> dict[str, Any] | None:
        found = await service(client, service_id)
        return found if check(found) else None

    return await eventually(probe, what, deadline, every=0.25)


async def until_status(
    client: GraphQLClient, service_id: str, status: str, deadline: float = 120
) -> dict[str, Any]:
    return await until(
        client, service_id, f"status {status}", lambda s: s["status"] == status, deadline
    )


def kinds(found: dict[str, Any]) -> list[str]:
    """Its event kinds, oldest first."""
    return [event["kind"] for event in reversed(found["events"])]
