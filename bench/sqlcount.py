"""Counting the SQL statements of one request: the service runs in this
process (uvicorn on 127.0.0.1, as tests/support/servers.py does), every
statement Tortoise sends is logged at DEBUG on `tortoise.db_client`, and
only those sent on behalf of an HTTP request are counted."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.service import free_port
from bench.tree_seed import database_url
from graphql_api.app import create_app
from graphql_api.settings import Settings

STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
# Set while an HTTP request is served: background loops of the service
# (scheduler, worker) send statements of their own, which are not counted.
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


class _TagRequests:
    """ASGI wrapper: marks the context of each HTTP request (tasks the
    request starts inherit it)."""

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


@asynccontextmanager
async def in_process_service(data_dir: Path) -> AsyncIterator[str]:
    """The API on a data dir, without the embedded worker (whose idle poll
    would add statements of its own). Yields the base URL."""
    settings = replace(
        Settings.from_env(),
        data_dir=data_dir,
        database_url=database_url(data_dir),
        storage_dir=data_dir / "objects",
        storage_backend="local",
        jwt_secret=None,
        embedded_worker=False,
    )
    port = free_port()
    config = uvicorn.Config(
        _TagRequests(create_app(settings)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the in-process service stopped during start-up")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
