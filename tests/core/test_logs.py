"""core/logs.py: the ids on every line, JSON or text, and what is never written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from core import logs


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger's output after `configure`, restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure("json")
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_lines_carry_the_ids_of_what_is_handled(captured: io.StringIO) -> None:
    log = logging.getLogger("scriptbox.test")
    with logs.handling(request_id="req-1"):
        log.info("before the caller is known")
        logs.note_user("user-1")
        log.info("after")
    log.info("outside")
    first, second, outside = lines(captured)
    assert (first["request_id"], first["user_id"]) == ("req-1", None)
    assert (second["request_id"], second["user_id"]) == ("req-1", "user-1")
    assert "request_id" not in outside


async def test_a_run_task_carries_its_execution_and_user() -> None:
    import asyncio

    seen: list[logs.LogContext | None] = []

    async def run() -> None:
        seen.append(logs.current())

    await asyncio.create_task(run(), context=logs.for_execution("exec-1", "user-1"))
    assert seen[0] is not None
    assert (seen[0].execution_id, seen[0].user_id) == ("exec-1", "user-1")
    assert logs.current() is None


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-123", "abc.def-123"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here", "eyJhbGciOiJIUzI1NiJ9"),
        ("used sbx_12ab_Zm9vYmFyYmF6cXV4 today", "Zm9vYmFyYmF6cXV4"),
        ("postgres://scriptbox:hunter22@db:5432/app", "hunter22"),
        ("GET /files/x?access_token=opensesame&y=1", "opensesame"),
        ("GET /x?password=opensesame", "opensesame"),
    ],
)
def test_secret_looking_text_is_masked(text: str, secret: str) -> None:
    masked = logs.redact_text(text)
    assert secret not in masked
    assert logs.MASK in masked


def test_secret_fields_and_a_runs_secret_values_are_masked(captured: io.StringIO) -> None:
    log = logging.getLogger("scriptbox.test")
    with logs.handling(execution_id="exec-1"):
        logs.hide(["the-secret-value", "ab"])
        log.info("printed the-secret-value", extra={"password": "pw", "api_key": "k"})
        log.info("short values like ab stay readable")
    first, second = lines(captured)
    assert "the-secret-value" not in json.dumps(first)
    assert (first["password"], first["api_key"]) == (logs.MASK, logs.MASK)
    assert second["event"] == "short values like ab stay readable"


def test_an_exception_is_one_redacted_field(captured: io.StringIO) -> None:
    log = logging.getLogger("scriptbox.test")
    try:
        raise RuntimeError("failed with Bearer leaked-token")
    except RuntimeError:
        log.exception("boom")
    (line,) = lines(captured)
    assert "RuntimeError" in str(line["exception"])
    assert "leaked-token" not in json.dumps(line)


def test_the_access_line_has_fields_and_no_query_string(captured: io.StringIO) -> None:
    access = logging.getLogger("uvicorn.access")
    access.info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/graphql?variables=pw", "1.1", 405
    )
    (line,) = lines(captured)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/graphql?...", 405)
    assert "pw" not in json.dumps(line)


def test_text_lines_are_readable() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        logs.configure("text")
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        with logs.handling(request_id="req-9"):
            logging.getLogger("scriptbox.test").warning("plain words")
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    line = stream.getvalue().strip()
    assert "plain words" in line and "request_id=req-9" in line and "warning" in line
    assert not line.startswith("{")
