"""`POST /api/v1/auth/register` and `/api/v1/auth/login`: `{"login",
"password"}` -> `{"access_token", "token_type": "bearer"}`, over the accounts
service (the same rules, throttling and invites as the GraphQL mutations).

The access token is short-lived and no refresh token is handed out here:
software that runs unattended should use an API token (`sbx_...`, made in
GraphQL with createApiToken) in the same Authorization header."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import BadUserInput
from graphql_api.rest.answers import audited_actor_name, handled, services_of
from graphql_api.rest.bodies import json_object, optional_text
from graphql_api.rest.spec import Operation, RestRoute, answer, errors, json_body, ref
from services.accounts import IssuedTokens

TAG = "Accounts"


async def _credentials(request: Request) -> tuple[str, str, str | None]:
    body = await json_object(request)
    login = optional_text(body.get("login"), "`login`")
    password = optional_text(body.get("password"), "`password`")
    if login is None or password is None:
        raise BadUserInput('Send {"login": ..., "password": ...}.')
    # The entry names who signed in (never the password).
    audited_actor_name(request, login)
    return login, password, optional_text(body.get("invite"), "`invite`")


def _token(issued: IssuedTokens, status_code: int = 200) -> Response:
    return JSONResponse(
        {"access_token": issued.access_token, "token_type": "bearer"}, status_code=status_code
    )


@handled
async def register(request: Request) -> Response:
    login, password, invite = await _credentials(request)
    issued = await services_of(request).accounts.register(login, password, invite)
    return _token(issued, status_code=201)


@handled
async def login(request: Request) -> Response:
    username, password, _ = await _credentials(request)
    # The socket peer: failures are throttled per (login, address).
    peer = request.client
    issued = await services_of(request).accounts.login(
        username, password, peer.host if peer else None
    )
    return _token(issued)


ROUTES = [
    RestRoute(
        "/api/v1/auth/register",
        {
            "post": Operation(
                register,
                "Make an account and log in",
                TAG,
                {"201": answer("An access token.", ref("Token")), **errors(400, 403, 409)},
                request_body=json_body(ref("Credentials")),
                secured=False,
            )
        },
    ),
    RestRoute(
        "/api/v1/auth/login",
        {
            "post": Operation(
                login,
                "Log in",
                TAG,
                {"200": answer("An access token.", ref("Token")), **errors(400, 401, 429)},
                request_body=json_body(ref("Credentials")),
                secured=False,
            )
        },
    ),
]
