"""Counting the SQL statements of one request: the service runs in this
process (uvicorn on 127.0.0.1, as tests/support/servers.py does), and the
counter of harness/sql_counter.py counts what it sends on behalf of an
HTTP request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import uvicorn

from bench.service import free_port
from bench.tree_seed import database_url
from core.settings import Settings
from harness.sql_counter import TagRequests, count_sql
from roles.api import build_api_app


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
    app = build_api_app(settings)
    # Every request reads its session afresh (the token, the user, the
    # login, the reach), as the tests count: a session kept for the last
    # half second would make the count depend on how long the request
    # before took (services/session_cache.py).
    app.state.process.services.accounts._sessions = None
    config = uvicorn.Config(
        TagRequests(app),
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


__all__ = ["count_sql", "in_process_service"]
