"""A small GraphQL-over-HTTP client for tests: what a front end would send."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"


class GraphQLErrorResponse(AssertionError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(json.dumps(errors, indent=2))
        self.errors = errors

    @property
    def code(self) -> str:
        return str(self.errors[0].get("extensions", {}).get("code"))


@dataclass
class GraphQLClient:
    base_url: str
    token: str | None = None
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=60))

    @property
    def url(self) -> str:
        return f"{self.base_url}/graphql"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **extra_headers: str
    ) -> httpx.Response:
        return await self.http.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers={**self.headers(), **extra_headers},
        )

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The full response body: {"data": ..., "errors": [...]}."""
        response = await self.post(query, variables)
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """`data`, asserting there were no errors."""
        body = await self.execute(query, variables)
        if body.get("errors"):
            raise GraphQLErrorResponse(body["errors"])
        result: dict[str, Any] = body["data"]
        return result

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The first error, asserting there was one."""
        body = await self.execute(query, variables)
        assert body.get("errors"), f"expected an error, got {body}"
        error: dict[str, Any] = body["errors"][0]
        return error

    async def upload(
        self,
        query: str,
        variables: dict[str, Any],
        files: dict[str, tuple[str, bytes, str]],
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A GraphQL multipart request (the spec clients like Apollo use).

        `files` maps a variable path such as "variables.input.file" to
        (filename, bytes, content type)."""
        file_map = {str(i): [path] for i, path in enumerate(files)}
        parts = {str(i): spec for i, spec in enumerate(files.values())}
        return await self.http.post(
            self.url,
            data={
                "operations": json.dumps({"query": query, "variables": variables}),
                "map": json.dumps(file_map),
            },
            files=parts,
            headers=self.headers() if headers is None else headers,
        )

    def with_token(self, token: str | None) -> GraphQLClient:
        return GraphQLClient(self.base_url, token, self.http)


REGISTER = """
mutation($u: String!, $p: String!) {
  register(username: $u, password: $p) { accessToken refreshToken user { id username isAdmin } }
}
"""


def unique_username(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def registered(client: GraphQLClient, prefix: str = "user") -> GraphQLClient:
    """A client logged in as a fresh user."""
    data = await client.data(REGISTER, {"u": unique_username(prefix), "p": PASSWORD})
    authed = client.with_token(data["register"]["accessToken"])
    authed.user = data["register"]["user"]  # type: ignore[attr-defined]
    return authed


@asynccontextmanager
async def user_at(base_url: str, prefix: str = "user") -> AsyncIterator[GraphQLClient]:
    """A fresh user of the service at `base_url`, on a connection of its own."""
    async with httpx.AsyncClient(timeout=60) as http:
        yield await registered(GraphQLClient(base_url, None, http), prefix)
