"""What every JSON value a client sends must be before anything reads it.

One check for every door (GraphQL over HTTP and WebSocket, multipart
operations, the REST path), so that no deep or malformed value can reach a
resolver, the ORM or a database driver and surface there as an internal
error:

- nested at most `MAX_JSON_DEPTH` arrays/objects deep: deeper values make
  recursive code (JSON parsers, GraphQL input coercion) raise RecursionError;
- strings (keys included) are valid Unicode: no lone surrogate such as
  "\\ud800", which JSON allows but UTF-8, and so every database, refuses;
- no NUL character in any string: PostgreSQL refuses it in text and jsonb.

The walk is iterative and linear in the value's size.
"""

from __future__ import annotations

import json
from typing import Any

from graphql_api.errors import BadUserInput, ClientError

MAX_JSON_DEPTH = 64


class MalformedRequest(ClientError):
    """The request itself cannot be read (not JSON, not UTF-8, wrong shape)."""

    code = "BAD_REQUEST"


def load_client_json(raw: bytes | str, *, what: str = "The request body") -> Any:
    """Parse JSON from a client and check it (see the module docstring)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise MalformedRequest(f"{what} is not valid UTF-8.") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise BadUserInput(
            f"{what} is nested too deeply (at most {MAX_JSON_DEPTH} levels)."
        ) from None
    except ValueError as exc:
        raise MalformedRequest(f"{what} is not valid JSON: {exc}.") from None
    check_client_value(value, what=what)
    return value


def check_client_value(value: Any, *, what: str = "The request") -> None:
    """Raise BadUserInput when `value` (decoded JSON) breaks a rule above."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_string(item, what)
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise BadUserInput(
                    f"{what} is nested too deeply (at most {MAX_JSON_DEPTH} levels)."
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str):
                        _check_string(key, what)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _check_string(text: str, what: str) -> None:
    if "\x00" in text:
        raise BadUserInput(f"{what} contains a NUL character, which is not allowed.")
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadUserInput(
            f"{what} contains a lone surrogate (such as \\ud800), which is not valid Unicode."
        ) from None
