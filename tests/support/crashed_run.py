"""A run that prints, then is orphaned by a SIGKILL: the script and the
checks shared by the embedded and the scale-out crash tests."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from tests.support.client import GraphQLClient
from tests.support.runs import GET, RUN, UPDATES
from tests.support.tree import script
from tests.support.ws import Subscription

SECRET_NAME = "TOKEN"
# A small per-stream cap, so the run also prints past it: the stored output
# is cut where the streamed output is.
OUTPUT_CAP_BYTES = 4096
CAPPED_ENV = {"SCRIPTBOX_SANDBOX_OUTPUT_BYTES": str(OUTPUT_CAP_BYTES)}
# Not a hex digit: the masker holds back a stream's tail while it could still
# be the start of the (hex) secret, and a held-back tail dies with the crash.
FILLER = "z"
# Printed in two writes well apart (so the halves land in different output
# batches), then, after a pause of several batch intervals, a last line and
# the start of the secret again, which the masker holds back and the crash
# must never reveal.
CRASHING_SCRIPT = f"""
import os, sys, time
FILLER = {FILLER!r}
secret = os.environ["{SECRET_NAME}"]
print("first line", flush=True)
print("to stderr", file=sys.stderr, flush=True)
sys.stderr.write(FILLER * 3 * {OUTPUT_CAP_BYTES}); sys.stderr.flush()
sys.stdout.write(secret[:8]); sys.stdout.flush()
time.sleep(1.5)
sys.stdout.write(secret[8:] + "\\n"); sys.stdout.flush()
time.sleep(3)
print("second line", flush=True)
sys.stdout.write(secret[:8]); sys.stdout.flush()
time.sleep(300)
"""
# Printed at least three seconds before the last line: stored whatever the crash.
STORED_BEFORE_LAST_LINE = "first line\n***\n"


def new_secret() -> str:
    return secrets.token_hex(16)


async def start_crashing_run(client: GraphQLClient, secret: str) -> str:
    await client.data(
        "mutation($n: String!, $v: String!) { setSecret(name: $n, value: $v) { name } }",
        {"n": SECRET_NAME, "v": secret},
    )
    created = await script(client, "crash.py", CRASHING_SCRIPT, secrets=[SECRET_NAME])
    queued = await client.data(RUN, {"input": {"scriptId": created["id"], "timeoutSeconds": 600}})
    execution_id: str = queued["runScript"]["id"]
    return execution_id


async def poll_execution(
    client: GraphQLClient, execution_id: str, until: str, deadline_seconds: float = 120
) -> dict[str, Any]:
    """The execution once `until` is in its stdout (or it is terminal with
    `until == "TERMINAL"`); fails at the deadline."""
    deadline = time.monotonic() + deadline_seconds
    execution: dict[str, Any] = {}
    while time.monotonic() < deadline:
        execution = (await client.data(GET, {"id": execution_id}))["execution"]
        if until == "TERMINAL":
            if execution["status"] not in ("QUEUED", "RUNNING"):
                return execution
        elif until in execution["stdout"]:
            return execution
        await asyncio.sleep(0.2)
    raise AssertionError(f"waited for {until!r}; the execution is {execution}")


async def replayed_output(ws: Subscription, execution_id: str) -> tuple[str, str, str]:
    """stdout, stderr and the final status a subscriber is shown."""
    events = [
        e["executionUpdates"] for e in await ws.collect(UPDATES, {"id": execution_id}, timeout=120)
    ]
    return joined(events)


def joined(events: list[dict[str, Any]]) -> tuple[str, str, str]:
    stdout = "".join(e["data"] for e in events if e["stream"] == "STDOUT")
    stderr = "".join(e["data"] for e in events if e["stream"] == "STDERR")
    return stdout, stderr, events[-1]["status"]


def assert_kept_and_masked(execution: dict[str, Any], secret: str) -> None:
    assert execution["status"] == "FAILED"
    assert execution["error"]["code"] == "WORKER_LOST"
    assert execution["stdout"].startswith(STORED_BEFORE_LAST_LINE), execution["stdout"]
    head = "to stderr\n"
    stderr = execution["stderr"]
    expected = head + FILLER * (OUTPUT_CAP_BYTES - len(head))
    assert stderr == expected, (len(stderr), stderr[-40:], execution["outputTruncated"])
    assert secret[:8] not in execution["stdout"]
