"""Fixtures for the behaviour tests: an admin beside the suite's users."""

from __future__ import annotations

import pytest

from tests.support.client import PASSWORD, GraphQLClient, unique_username
from tests.support.servers import Service

LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { accessToken user { id username isAdmin } }
}
"""


@pytest.fixture
async def admin(service: Service, anon: GraphQLClient) -> GraphQLClient:
    """An admin, made as an operator makes one (`scriptbox create-user
    --admin` calls the same accounts service), then logged in over GraphQL."""
    username = unique_username("admin")
    await service.services.accounts.create_user(username, PASSWORD, is_admin=True)
    data = (await anon.data(LOGIN, {"u": username, "p": PASSWORD}))["login"]
    assert data["user"]["isAdmin"] is True
    return anon.with_token(data["accessToken"])
