"""Every root field of the schema, asked without a token: the few that are
anonymous by design work, every other answers UNAUTHENTICATED. The fields
come from introspection, so a field added later is covered without editing
this test; the anonymous ones are listed here, explicitly."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
import websockets

from tests.support.client import GraphQLClient
from tests.support.ws import TRANSPORT_WS, RawSocket

# The gate is one per field, not per storage or database: one service is enough.
pytestmark = pytest.mark.parametrize("service", ["local"], indirect=True)

ANONYMOUS_BY_DESIGN = {
    ("mutation", "register"),
    ("mutation", "login"),
    ("mutation", "refreshToken"),
    # Holding the refresh token is the proof: a login whose access token has
    # already expired can still be ended.
    ("mutation", "logout"),
}
TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }"
INTROSPECT = f"""
{{ __schema {{
  queryType {{ name }} mutationType {{ name }} subscriptionType {{ name }}
  types {{ name kind enumValues {{ name }}
    inputFields {{ name defaultValue type {{ {TYPE_REF} }} }}
    fields {{ name args {{ name defaultValue type {{ {TYPE_REF} }} }}
      type {{ {TYPE_REF} }} }} }}
}} }}
"""
SCALARS: dict[str, Any] = {
    "ID": "00000000-0000-4000-8000-000000000000",
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "JSON": {},
    "DateTime": "2026-01-01T00:00:00+00:00",
    "Upload": None,
}


def type_name(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return type_name(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return f"[{type_name(ref['ofType'])}]"
    return str(ref["name"])


def named(ref: dict[str, Any]) -> dict[str, Any]:
    return named(ref["ofType"]) if ref["kind"] in ("NON_NULL", "LIST") else ref


def is_required(value: dict[str, Any]) -> bool:
    return bool(value["type"]["kind"] == "NON_NULL" and value["defaultValue"] is None)


class Schema:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.types = {t["name"]: t for t in schema["types"]}
        self.roots = {
            op: schema[f"{op}Type"]["name"]
            for op in ("query", "mutation", "subscription")
            if schema[f"{op}Type"]
        }

    def value(self, ref: dict[str, Any]) -> Any:
        """A well-formed value of a type: validation passes, so the answer
        is the resolver's."""
        if ref["kind"] == "NON_NULL":
            return self.value(ref["ofType"])
        if ref["kind"] == "LIST":
            return [self.value(ref["ofType"])]
        kind = self.types[ref["name"]]["kind"]
        if kind == "ENUM":
            return self.types[ref["name"]]["enumValues"][0]["name"]
        if kind == "INPUT_OBJECT":
            return {
                f["name"]: self.value(f["type"])
                for f in self.types[ref["name"]]["inputFields"]
                if is_required(f)
            }
        return SCALARS[ref["name"]]

    def operation(self, op: str, field: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        required = [a for a in field["args"] if is_required(a)]
        declared = ", ".join(f"${a['name']}: {type_name(a['type'])}" for a in required)
        passed = ", ".join(f"{a['name']}: ${a['name']}" for a in required)
        selection = (
            ""
            if self.types[named(field["type"])["name"]]["kind"]
            in (
                "SCALAR",
                "ENUM",
            )
            else "{ __typename }"
        )
        document = (
            f"{op} Anonymous{f'({declared})' if declared else ''} "
            f"{{ {field['name']}{f'({passed})' if passed else ''} {selection} }}"
        )
        return document, {a["name"]: self.value(a["type"]) for a in required}

    def root_fields(self) -> list[tuple[str, dict[str, Any]]]:
        return [(op, f) for op, name in self.roots.items() for f in self.types[name]["fields"]]


FORBIDDEN_CLOSE = 4403
LOG_IN_FIRST = "Log in first"


async def anonymous_subscription(
    base_url: str, document: str, variables: dict[str, Any]
) -> tuple[int | None, list[dict[str, Any]]]:
    """Connect with no token and subscribe at once; how the server closes."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[TRANSPORT_WS]) as ws:  # type: ignore[list-item]
        socket = RawSocket(ws, TRANSPORT_WS)
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with contextlib.suppress(websockets.ConnectionClosed):
            await socket.send_operation("1", document, variables)
        return await socket.closed_with()


async def anonymous_answer(
    anon: GraphQLClient, op: str, document: str, variables: dict[str, Any]
) -> list[dict[str, Any]]:
    """The errors of one anonymous operation (empty when it worked)."""
    if op == "subscription":
        code, before = await anonymous_subscription(anon.base_url, document, variables)
        # No token: the connection itself is refused (4403), before any event.
        if code == FORBIDDEN_CLOSE and not [m for m in before if m.get("type") == "next"]:
            return [{"message": LOG_IN_FIRST, "extensions": {"code": "UNAUTHENTICATED"}}]
        return [{"message": f"closed {code} after {before}", "extensions": {"code": None}}]
    uploads = {k: ("f.txt", b"x", "text/plain") for k, v in variables.items() if v is None}
    if uploads:
        response = await anon.upload(
            document,
            variables,
            {f"variables.{k}": spec for k, spec in uploads.items()},
            # A browser cannot send this header cross-site: the request is
            # not refused as CSRF before reaching the resolver.
            headers={"Apollo-Require-Preflight": "true"},
        )
        body: dict[str, Any] = response.json()
    else:
        body = await anon.execute(document, variables)
    return list(body.get("errors") or [])


async def test_every_root_field_needs_a_token_unless_anonymous_by_design(
    anon: GraphQLClient,
) -> None:
    schema = Schema((await anon.data(INTROSPECT))["__schema"])
    fields = schema.root_fields()
    assert len(fields) > 30, fields
    wrong: dict[str, Any] = {}
    for op, field in fields:
        document, variables = schema.operation(op, field)
        errors = await anonymous_answer(anon, op, document, variables)
        codes = [str((e.get("extensions") or {}).get("code")) for e in errors]
        if (op, field["name"]) in ANONYMOUS_BY_DESIGN:
            # Reached its resolver: any answer (a made-up refresh token is
            # refused) but the one for a missing token.
            if any(e["message"].startswith(LOG_IN_FIRST) for e in errors):
                wrong[f"{op} {field['name']}"] = errors
            continue
        if codes != ["UNAUTHENTICATED"] or not errors[0]["message"].startswith(LOG_IN_FIRST):
            wrong[f"{op} {field['name']}"] = errors or "answered without a token"
    assert not wrong, wrong
