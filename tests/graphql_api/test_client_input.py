"""The one check every JSON value from a client passes (pure unit)."""

from __future__ import annotations

import json

import pytest

from core.errors import BadUserInput, MalformedRequest
from graphql_api.client_input import MAX_JSON_DEPTH, check_client_value, load_client_json


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_values_within_the_rules_pass_unchanged() -> None:
    value = {"name": "géologie ✓", "items": [1, 2.5, None, True], "deep": json.loads(nested(10))}
    assert load_client_json(json.dumps(value)) == value
    check_client_value(json.loads(nested(MAX_JSON_DEPTH)))


def test_nesting_one_level_over_the_limit_is_refused() -> None:
    with pytest.raises(BadUserInput, match="nested too deeply"):
        check_client_value(json.loads(nested(MAX_JSON_DEPTH + 1)))


def test_nesting_deeper_than_the_json_parser_recurses_is_a_client_error() -> None:
    with pytest.raises(BadUserInput, match="nested too deeply"):
        load_client_json(nested(100_000))


@pytest.mark.parametrize(
    "raw",
    ['{"a": "\\ud800"}', '{"\\udfff": 1}', '["ok", ["\\ud83d"]]'],
    ids=["value", "key", "deep"],
)
def test_lone_surrogates_are_refused(raw: str) -> None:
    with pytest.raises(BadUserInput, match="lone surrogate"):
        load_client_json(raw)


def test_a_surrogate_pair_is_one_valid_character() -> None:
    assert load_client_json('"\\ud83d\\ude00"') == "\U0001f600"


@pytest.mark.parametrize("raw", ['"a\\u0000b"', '{"k\\u0000": 1}', '["é\\u0000"]'])
def test_nul_characters_are_refused(raw: str) -> None:
    with pytest.raises(BadUserInput, match="NUL"):
        load_client_json(raw)


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe{}", b"{'a': 1}"])
def test_unreadable_bodies_are_malformed_requests(raw: bytes) -> None:
    with pytest.raises(MalformedRequest):
        load_client_json(raw)
