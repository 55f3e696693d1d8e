"""Counting the SQL statements of one request: the service runs in this
process (uvicorn on 127.0.0.1, as tests/support/servers.py does) and every
statement Tortoise sends is logged at DEBUG on `tortoise.db_client`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path

import uvicorn

from bench.service import free_port
from bench.tree_seed import database_url
from graphql_api.app import create_app
from graphql_api.settings import Settings

STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
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
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
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
