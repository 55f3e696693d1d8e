"""Tracing against `scriptbox serve` with SCRIPTBOX_OTEL_ENDPOINT set: spans
of the request (joining the caller's trace), of the root field, of the claim
and of the sandbox run reach an OTLP receiver, and the script's TRACEPARENT
names the sandbox span, so a script's own spans join the same trace."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests.support.client import GraphQLClient, registered
from tests.support.otlp_receiver import otlp_receiver
from tests.support.processes import own_service
from tests.support.runs import RUN
from tests.support.tree import script

READS_TRACEPARENT = "import os\ndef main(data):\n    return os.environ.get('TRACEPARENT')\n"


async def test_a_run_is_traced_into_the_script(tmp_path: Path) -> None:
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    with otlp_receiver() as receiver:
        async with (
            own_service(
                tmp_path,
                SCRIPTBOX_OTEL_ENDPOINT=receiver.url,
                OTEL_BSP_SCHEDULE_DELAY="100",
            ) as service,
            httpx.AsyncClient(timeout=120) as http,
        ):
            alice = await registered(GraphQLClient(service.url, None, http), "alice")
            created = await script(alice, "traced.py", READS_TRACEPARENT)
            response = await http.post(
                f"{service.url}/graphql",
                json={
                    "query": RUN,
                    "variables": {"input": {"scriptId": created["id"], "wait": True}},
                },
                headers={
                    **alice.headers(),
                    "traceparent": f"00-{caller_trace}-{caller_span}-01",
                },
            )
        # The service has stopped: its last spans were sent on the way out.
    done = response.json()["data"]["runScript"]
    assert done["status"] == "SUCCEEDED", done
    version, trace_id, parent_id, flags = done["result"].split("-")
    assert version == "00" and int(flags, 16) & 1  # sampled

    (sandbox,) = receiver.named("sandbox.run")
    assert (sandbox.trace_id, sandbox.span_id) == (trace_id, parent_id)
    assert sandbox.attributes["execution_id"] == done["id"]
    assert receiver.named("execution.claim")
    root_fields = receiver.named("graphql Mutation.runScript")
    requests = [span for span in receiver.named("POST /graphql") if span.trace_id == caller_trace]
    assert len(requests) == 1 and requests[0].parent_span_id == caller_span
    assert [field.parent_span_id for field in root_fields] == [requests[0].span_id]
