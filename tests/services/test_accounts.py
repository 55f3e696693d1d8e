"""Accounts through GraphQL over HTTP: register, login, refresh, me; and
who a request speaks for, asked alike at every door (GraphQL, REST, the
downloads, WebSocket)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import websockets

from tests.support.client import PASSWORD, REGISTER, GraphQLClient, unique_username
from tests.support.servers import Service
from tests.support.ws import TRANSPORT_WS, RawSocket

LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { accessToken refreshToken user { username } }
}
"""
REFRESH = """
mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }
"""
ME = "{ me { id username isAdmin createdAt } }"


async def test_register_login_and_me(anon: GraphQLClient) -> None:
    name = unique_username("Carol")
    registered = await anon.data(REGISTER, {"u": name, "p": PASSWORD})
    assert registered["register"]["user"]["username"] == name.lower()
    assert registered["register"]["user"]["isAdmin"] is False

    logged_in = await anon.data(LOGIN, {"u": name.upper(), "p": PASSWORD})
    me = await anon.with_token(logged_in["login"]["accessToken"]).data(ME)
    assert me["me"]["username"] == name.lower()
    assert me["me"]["id"] == registered["register"]["user"]["id"]


async def test_me_needs_a_token(anon: GraphQLClient) -> None:
    error = await anon.error(ME)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Bearer" in error["message"]


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.bad-signature"],
)
async def test_tampered_tokens_are_unauthenticated(anon: GraphQLClient, token: str) -> None:
    error = await anon.with_token(token).error(ME)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_refresh_token_is_not_an_access_token(anon: GraphQLClient) -> None:
    body = await anon.data(REGISTER, {"u": unique_username(), "p": PASSWORD})
    error = await anon.with_token(body["register"]["refreshToken"]).error(ME)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_wrong_password_and_unknown_user_look_the_same(anon: GraphQLClient) -> None:
    name = unique_username()
    await anon.data(REGISTER, {"u": name, "p": PASSWORD})
    wrong_password = await anon.error(LOGIN, {"u": name, "p": "not the password"})
    unknown_user = await anon.error(LOGIN, {"u": unique_username(), "p": PASSWORD})
    assert wrong_password["message"] == unknown_user["message"]
    assert wrong_password["extensions"]["code"] == unknown_user["extensions"]["code"]
    assert wrong_password["extensions"]["code"] == "UNAUTHENTICATED"
    assert wrong_password["message"] == "Wrong username or password."


async def test_repeated_failed_logins_are_rate_limited(anon: GraphQLClient) -> None:
    name = unique_username()
    await anon.data(REGISTER, {"u": name, "p": PASSWORD})
    codes = [
        (await anon.error(LOGIN, {"u": name, "p": f"wrong password {i}"}))["extensions"]["code"]
        for i in range(6)
    ]
    assert codes[:5] == ["UNAUTHENTICATED"] * 5
    assert codes[5] == "RATE_LIMITED"
    # Even the right password waits out the window.
    error = await anon.error(LOGIN, {"u": name, "p": PASSWORD})
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfterSeconds"] > 0


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("ab", PASSWORD),  # too short
        ("has space", PASSWORD),
        ("slash/name", PASSWORD),
        ("x" * 65, PASSWORD),
        ("-leading-dash", PASSWORD),
        ("good-name", "short"),
        ("good-name", "p" * 1025),
    ],
)
async def test_bad_usernames_and_passwords(
    anon: GraphQLClient, username: str, password: str
) -> None:
    error = await anon.error(REGISTER, {"u": username, "p": password})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_usernames_are_unique_case_insensitively(anon: GraphQLClient) -> None:
    name = unique_username()
    await anon.data(REGISTER, {"u": name, "p": PASSWORD})
    error = await anon.error(REGISTER, {"u": name.upper(), "p": PASSWORD})
    assert error["extensions"]["code"] == "ALREADY_EXISTS"


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(anon: GraphQLClient) -> None:
    body = await anon.data(REGISTER, {"u": unique_username(), "p": PASSWORD})
    first = body["register"]["refreshToken"]

    rotated = await anon.data(REFRESH, {"t": first})
    second = rotated["refreshToken"]["refreshToken"]
    assert second != first
    me = await anon.with_token(rotated["refreshToken"]["accessToken"]).data(ME)
    assert me["me"]["username"]

    # Replaying the used token fails, and also kills the token it was rotated into.
    replay = await anon.error(REFRESH, {"t": first})
    assert replay["extensions"]["code"] == "UNAUTHENTICATED"
    after_theft = await anon.error(REFRESH, {"t": second})
    assert after_theft["extensions"]["code"] == "UNAUTHENTICATED"


async def test_tampered_refresh_token(anon: GraphQLClient) -> None:
    body = await anon.data(REGISTER, {"u": unique_username(), "p": PASSWORD})
    token = body["register"]["refreshToken"]
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    error = await anon.error(REFRESH, {"t": tampered})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_expired_access_token(anon: GraphQLClient, service: Service) -> None:
    import time

    import jwt

    body = await anon.data(REGISTER, {"u": unique_username(), "p": PASSWORD})
    secret = service.settings.jwt_secret_file.read_text().strip()
    now = int(time.time())
    expired = jwt.encode(
        {
            "sub": body["register"]["user"]["id"],
            "typ": "access",
            "jti": "x",
            "iss": "scriptbox",
            "iat": now - 3600,
            "exp": now - 60,
        },
        secret,
        algorithm="HS256",
    )
    # Sanity: the same claims with a future expiry are accepted.
    valid = jwt.encode(
        {
            "sub": body["register"]["user"]["id"],
            "typ": "access",
            "jti": "y",
            "iss": "scriptbox",
            "iat": now,
            "exp": now + 600,
        },
        secret,
        algorithm="HS256",
    )
    assert (await anon.with_token(valid).data(ME))["me"]["username"]
    error = await anon.with_token(expired).error(ME)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in error["message"]


async def test_signing_key_is_generated_once_and_private(service: Service) -> None:
    import stat

    secret_file = service.settings.jwt_secret_file
    assert secret_file.exists()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(secret_file.read_text().strip()) >= 32


LOG_IN_FIRST = "Log in first: send 'Authorization: Bearer <accessToken>'."


async def refusals_at_every_http_door(
    anon: GraphQLClient, authorization: str | None
) -> dict[str, tuple[int, str, str]]:
    """(status, code, message) of a request with this Authorization value at
    the GraphQL endpoint, the REST path and both downloads."""
    headers = {"Authorization": authorization} if authorization is not None else {}

    async def send(method: str, path: str, json: object = None) -> httpx.Response:
        return await anon.http.request(method, anon.base_url + path, headers=headers, json=json)

    graphql = (await send("POST", "/graphql", json={"query": ME})).json()["errors"][0]
    rest = await send("POST", "/api/v1/scripts/job.py", json={"data": {}})
    refused = {
        "graphql": (200, graphql["extensions"]["code"], graphql["message"]),
        "rest": (rest.status_code, rest.json()["error"]["code"], rest.json()["error"]["message"]),
    }
    for door, path in (("file", "/files/a.txt"), ("artifact", f"/artifacts/{uuid.uuid4()}/a")):
        response = await send("GET", path)
        error = response.json()["errors"][0]
        refused[door] = (response.status_code, error["extensions"]["code"], error["message"])
    return refused


async def websocket_close_code(anon: GraphQLClient, authorization: str | None) -> int | None:
    url = anon.base_url.replace("http://", "ws://") + "/graphql"
    payload = {"Authorization": authorization} if authorization is not None else {}
    async with websockets.connect(url, subprotocols=[TRANSPORT_WS]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        code, before = await RawSocket(ws, TRANSPORT_WS).closed_with()
    assert before == [], before
    return code


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, LOG_IN_FIRST),
        ("Basic YWxpY2U6c2VjcmV0", LOG_IN_FIRST),
        ("Bearer", LOG_IN_FIRST),
        ("Bearer garbage", "The token is not valid."),
    ],
)
async def test_every_door_refuses_a_missing_or_bad_token_alike(
    anon: GraphQLClient, authorization: str | None, message: str
) -> None:
    refused = await refusals_at_every_http_door(anon, authorization)
    assert refused == {
        "graphql": (200, "UNAUTHENTICATED", message),
        "rest": (401, "UNAUTHENTICATED", message),
        "file": (401, "UNAUTHENTICATED", message),
        "artifact": (401, "UNAUTHENTICATED", message),
    }
    assert await websocket_close_code(anon, authorization) == 4403


async def test_a_deleted_account_is_refused_at_every_door(
    anon: GraphQLClient, service: Service
) -> None:
    from models.users import User

    body = await anon.data(REGISTER, {"u": unique_username(), "p": PASSWORD})
    authorization = f"Bearer {body['register']['accessToken']}"
    # As an operator deletes an account: its row goes (there is no API for it).
    await User.filter(id=body["register"]["user"]["id"]).delete()
    gone = (401, "UNAUTHENTICATED", "The account no longer exists.")
    refused = await refusals_at_every_http_door(anon, authorization)
    assert refused == {"graphql": (200, *gone[1:]), "rest": gone, "file": gone, "artifact": gone}
    assert await websocket_close_code(anon, authorization) == 4403
