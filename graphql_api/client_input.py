"""What every JSON value a client sends must be before anything reads it.

One check for every door (GraphQL over HTTP and WebSocket, multipart
operations, the REST path), so that no deep or malformed value can reach a
resolver, the ORM or a database driver and surface there as an internal
error:

- nested at most `MAX_JSON_DEPTH` arrays/objects deep: deeper values make
  recursive code (JSON parsers, GraphQL input coercion) raise RecursionError;
- strings (keys included) are valid Unicode: no lone surrogate such as
  "\\ud800", which JSON allows but UTF-8, and so every database, refuses;
- no NUL character in any string: PostgreSQL refuses it in text and jsonb;
- at most `MAX_JSON_VALUES` values in a large body: parsing one holds the
  GIL, so its cost must be bounded by more than its size in bytes.

The walk is iterative and linear in the value's size.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from core.errors import BadUserInput, MalformedRequest, PayloadTooLarge

MAX_JSON_DEPTH = 64
# About 50 ms of parsing on a quiet machine; script content of 1 MiB holds far
# fewer commas than this.
MAX_JSON_VALUES = 200_000


# Larger bodies are parsed and checked in a thread: a 4 MiB array of small
# values takes a second of CPU to walk, which must not stall the event loop.
INLINE_LIMIT_BYTES = 64 * 1024


async def load_client_json_async(raw: bytes | str, *, what: str = "The request body") -> Any:
    """`load_client_json`, off the event loop when `raw` is large."""
    if len(raw) <= INLINE_LIMIT_BYTES:
        return load_client_json(raw, what=what)
    return await asyncio.to_thread(load_client_json, raw, what=what)


async def check_client_value_async(value: Any, *, what: str = "The request") -> None:
    """`check_client_value` in a thread: for values of unknown, maybe large, size."""
    await asyncio.to_thread(check_client_value, value, what=what)


def load_client_json(raw: bytes | str, *, what: str = "The request body") -> Any:
    """Parse JSON from a client and check it (see the module docstring)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise MalformedRequest(f"{what} is not valid UTF-8.") from None
    # json.loads holds the GIL for the whole parse, in a thread too: bound
    # the number of values first. Every value but the first of each array or
    # object follows a comma (commas in strings count too; this is a cap).
    if len(text) > INLINE_LIMIT_BYTES and text.count(",") > MAX_JSON_VALUES:
        raise PayloadTooLarge(f"{what} holds more than {MAX_JSON_VALUES:,} JSON values.")
    try:
        value = json.loads(text)
    except RecursionError:
        raise BadUserInput(
            f"{what} is nested too deeply (at most {MAX_JSON_DEPTH} levels)."
        ) from None
    except ValueError as exc:
        raise MalformedRequest(f"{what} is not valid JSON: {exc}.") from None
    # Strict JSON refuses raw control characters in strings, and UTF-8 cannot
    # carry a surrogate: both can only arrive as \u escapes.
    check_client_value(value, what=what, check_strings="\\u" in text)
    return value


def check_client_value(
    value: Any, *, what: str = "The request", check_strings: bool = True
) -> None:
    """Raise BadUserInput when `value` (decoded JSON) breaks a rule above."""
    if isinstance(value, str):
        if check_strings:
            _check_string(value, what)
        return
    if not isinstance(value, dict | list):
        return
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            if check_strings:
                for key in item:
                    if isinstance(key, str):
                        _check_string(key, what)
            children = item.values()
        else:
            children = item
        for child in children:
            if isinstance(child, str):
                if check_strings:
                    _check_string(child, what)
            elif isinstance(child, dict | list):
                if depth + 1 > MAX_JSON_DEPTH:
                    raise BadUserInput(
                        f"{what} is nested too deeply (at most {MAX_JSON_DEPTH} levels)."
                    )
                if child:  # an empty one has nothing more to look at
                    stack.append((child, depth + 1))


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
