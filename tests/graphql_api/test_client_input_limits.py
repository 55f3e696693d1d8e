"""The numeric limits of graphql_api/client_input.py, at their exact edges.

tests/graphql_api/test_client_input.py shows each rule; this pins each number, since
a limit that silently grows is a limit removed: the nesting depth, the value
count of a large body, and the size above which a body is parsed off the
event loop (a 4 MiB body walked inline stalls every other request).
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

import graphql_api.client_input as client_input
from core.errors import BadUserInput, PayloadTooLarge
from graphql_api.client_input import (
    check_client_value,
    check_client_value_async,
    load_client_json,
    load_client_json_async,
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_the_nesting_limit_is_64_levels() -> None:
    assert load_client_json(nested(64)) == json.loads(nested(64))
    with pytest.raises(BadUserInput, match="at most 64 levels"):
        load_client_json(nested(65))
    with pytest.raises(BadUserInput, match="at most 64 levels"):
        check_client_value({"a": json.loads(nested(64))})


def test_a_large_body_of_200_000_commas_passes_and_one_more_is_refused() -> None:
    at_limit = "[" + "0," * 200_000 + "0]"
    assert len(load_client_json(at_limit)) == 200_001
    with pytest.raises(PayloadTooLarge, match="more than 200,000 JSON values"):
        load_client_json("[" + "0," * 200_001 + "0]")


def test_a_small_body_is_never_refused_for_its_commas() -> None:
    assert load_client_json("[" + "0," * 1000 + "0]") == [0] * 1001


def test_strings_are_checked_unless_the_caller_says_otherwise() -> None:
    with pytest.raises(BadUserInput, match="NUL"):
        check_client_value("a\x00b")
    with pytest.raises(BadUserInput, match="NUL"):
        check_client_value({"k": ["a\x00b"]})
    check_client_value({"k": ["a\x00b"]}, check_strings=False)


def _thread_that_parses(raw: str, monkeypatch: pytest.MonkeyPatch) -> int:
    seen: list[int] = []
    original = client_input.load_client_json

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        return original(*args, **kwargs)

    monkeypatch.setattr(client_input, "load_client_json", recording)
    asyncio.run(load_client_json_async(raw))
    return seen[0]


def _body_of(size: int) -> str:
    body = '["' + "x" * (size - 4) + '"]'
    assert len(body) == size
    return body


def test_bodies_up_to_64_kib_are_parsed_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    here = threading.get_ident()
    assert _thread_that_parses(_body_of(10), monkeypatch) == here
    assert _thread_that_parses(_body_of(64 * 1024), monkeypatch) == here


def test_larger_bodies_are_parsed_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    here = threading.get_ident()
    assert _thread_that_parses(_body_of(64 * 1024 + 1), monkeypatch) != here


def test_the_async_forms_apply_the_same_rules() -> None:
    with pytest.raises(BadUserInput, match="NUL"):
        asyncio.run(check_client_value_async(["\x00"]))
    with pytest.raises(BadUserInput, match="nested too deeply"):
        asyncio.run(load_client_json_async(nested(65)))
    assert asyncio.run(load_client_json_async(_body_of(70_000)))[0] == "x" * 69_996
