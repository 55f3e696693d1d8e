"""How uvicorn serves the app: one configuration for `scriptbox serve` and for
the test suite's in-process service, so the tests run on the same event loop,
parsers and limits as the process users run (bugs that live only under
uvloop, say, then show up in the tests too)."""

from __future__ import annotations

from typing import Any

import uvicorn

from graphql_api.lean_websocket import LeanWebSocketProtocol

# The event loop must not be blocked by slow clients or big frames.
WS_MAX_SIZE = 4 * 2**20
# Seconds that open connections (WebSockets, long `wait: true` runs) get to
# finish after SIGTERM before uvicorn cancels them, so a stop never waits for
# every client to hang up.
GRACEFUL_SHUTDOWN_SECONDS = 3


def uvicorn_config(
    app: Any,
    host: str,
    port: int,
    log_level: str = "info",
    timeout_graceful_shutdown: int = GRACEFUL_SHUTDOWN_SECONDS,
    log_config: dict[str, Any] | None = uvicorn.config.LOGGING_CONFIG,
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_config=log_config,
        host=host,
        port=port,
        log_level=log_level,
        # uvloop, not uvicorn's "auto" (which falls back to asyncio silently):
        # what the tests prove must be what runs.
        loop="uvloop",
        # uvicorn's sans-I/O protocol, holding less per idle connection.
        ws=LeanWebSocketProtocol,
        ws_max_size=WS_MAX_SIZE,
        # permessage-deflate keeps a zlib state per connection (memory) and
        # compresses every message for every subscriber (CPU).
        ws_per_message_deflate=False,
        # Behind no proxy by default: X-Forwarded-For is not to be believed.
        proxy_headers=False,
        lifespan="on",
        timeout_graceful_shutdown=timeout_graceful_shutdown,
    )
