"""One B4 client process: opens N graphql-transport-ws subscriptions to one
execution, says READY on stdout once each has its first event, records when
each piece of output arrives, says ENDED once every stream has ended, then
checks every line (order, completeness) and its delivery lag.

    python -m bench.fanout_client '<json args>'

Writes its results (JSON, and the lags as raw float64) next to `out`; exits
by itself at `deadline` seconds at the latest."""

from __future__ import annotations

import array
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop

from bench.gql import socket

UPDATES = """subscription($id: ID!) {
  executionUpdates(executionId: $id) { seq status stream data } }"""
CONNECT_CONCURRENCY = 25


@dataclass
class Subscriber:
    expected_lines: int
    terminal: str | None = None
    last_seq: int = -1
    seq_gaps: int = 0
    # The output as it arrived: (text, receive time). Read into lines only
    # once the stream has ended: the clients share the service's cores, so
    # the less they do per message while the lag is measured, the less of
    # that lag is their own queueing rather than the service's.
    chunks: list[tuple[str, float]] = field(default_factory=list)
    next_line: int = 0
    in_order: bool = True
    lags: array.array[float] = field(default_factory=lambda: array.array("d"))

    def take(self, data: str, received: float) -> None:
        self.chunks.append((data, received))

    def read(self) -> None:
        """Each line's order and lag: from the time it printed to when its
        end arrived (a line cut across two events counts at the second)."""
        pending = ""
        for data, received in self.chunks:
            pending += data
            *lines, pending = pending.split("\n")
            for line in lines:
                index_text, _, stamp = line.partition(" ")
                index = int(index_text)
                if index != self.next_line:
                    self.in_order = False
                self.next_line = index + 1
                self.lags.append((received - float(stamp)) * 1000)
        self.chunks.clear()

    @property
    def complete(self) -> bool:
        return (
            self.in_order
            and self.next_line == self.expected_lines
            and len(self.lags) == self.expected_lines
            and self.terminal == "SUCCEEDED"
        )


async def follow(
    args: dict[str, Any], sub: Subscriber, ready: asyncio.Queue[bool], gate: asyncio.Semaphore
) -> None:
    deadline = args["deadline"]
    await gate.acquire()
    released = False
    try:
        async with socket(args["url"], args["token"]) as ws:
            op = await ws.subscribe(UPDATES, {"id": args["execution_id"]})
            first = True
            while True:
                raw = await asyncio.wait_for(ws.ws.recv(), max(1.0, deadline - time.monotonic()))
                received = time.time()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await ws.ws.send(json.dumps({"type": "pong"}))
                    continue
                if message.get("id") != op or kind not in ("next", "complete"):
                    raise RuntimeError(f"unexpected message {str(message)[:300]}")
                if kind == "complete":
                    return
                event = message["payload"]["data"]["executionUpdates"]
                if event["seq"] != sub.last_seq + 1:  # the first is seq 0 (QUEUED)
                    sub.seq_gaps += 1
                sub.last_seq = event["seq"]
                if first:
                    first = False
                    gate.release()
                    released = True
                    await ready.put(True)
                if event["stream"] == "STDOUT" and event["data"]:
                    sub.take(event["data"], received)
                elif event["stream"] is None and event["status"] in (
                    "SUCCEEDED",
                    "FAILED",
                    "TIMED_OUT",
                    "CANCELLED",
                ):
                    sub.terminal = event["status"]
    finally:
        if not released:
            gate.release()


async def main_async(args: dict[str, Any]) -> tuple[array.array[float], dict[str, Any]]:
    args["deadline"] = time.monotonic() + float(args["deadline_seconds"])
    subs = [Subscriber(int(args["lines"])) for _ in range(int(args["subscribers"]))]
    ready: asyncio.Queue[bool] = asyncio.Queue()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    started = time.monotonic()
    tasks = [asyncio.create_task(follow(args, sub, ready, gate)) for sub in subs]
    for _ in subs:
        await asyncio.wait_for(ready.get(), max(1.0, args["deadline"] - time.monotonic()))
    connect_seconds = time.monotonic() - started
    print("READY", flush=True)
    cpu_ready = time.process_time()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    cpu_after_ready = time.process_time() - cpu_ready
    print("ENDED", flush=True)
    for sub in subs:
        sub.read()
    errors = [repr(o)[:300] for o in outcomes if isinstance(o, BaseException)]
    lags = array.array("d")
    for sub in subs:
        lags.extend(sub.lags)
    return lags, {
        "subscribers": len(subs),
        "complete": sum(sub.complete for sub in subs),
        "in_order": sum(sub.in_order for sub in subs),
        "lines": sum(len(sub.lags) for sub in subs),
        "seq_gaps": sum(sub.seq_gaps for sub in subs),
        "errors": errors[:5],
        "error_count": len(errors),
        "connect_seconds": connect_seconds,
        "cpu_after_ready": cpu_after_ready,
    }


def main() -> None:
    args: dict[str, Any] = json.loads(sys.argv[1])
    try:
        # uvloop, as the service runs: the clients share the service's two
        # cores, so the less CPU they spend per message, the less of the lag
        # measured is their own queueing rather than the service's.
        lags, result = uvloop.run(main_async(args))
        Path(args["out"] + ".lags").write_bytes(lags.tobytes())
    except Exception as exc:  # reported to the parent, which fails B4
        result = {"fatal": f"{type(exc).__name__}: {exc}"}
    with open(args["out"], "w") as handle:
        json.dump(result, handle)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
