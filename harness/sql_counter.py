"""Counts the SQL statements of HTTP requests to the in-process service.

Tortoise logs each statement at DEBUG on `tortoise.db_client`. Only those
sent while an HTTP request is served count: the service's background loops
(scheduler, worker polls, heartbeats) send statements of their own at any
moment, and counting them would make a count depend on timing. The app must
be wrapped in `TagRequests` (tests/support/servers.py and bench/sqlcount.py do)."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
# Set while an HTTP request is served; tasks the request starts inherit it.
_IN_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("in_request", default=False)


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not _IN_REQUEST.get():
            return
        message = record.getMessage()
        if message.lstrip().upper().startswith(STATEMENTS):
            self.statements.append(message)


@contextmanager
def count_sql() -> Iterator[list[str]]:
    logger = logging.getLogger("tortoise.db_client")
    handler = _Counter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


class TagRequests:
    """ASGI wrapper that marks the context of each HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _IN_REQUEST.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            _IN_REQUEST.reset(token)
