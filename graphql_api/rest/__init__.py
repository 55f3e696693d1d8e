"""The REST face, for software that cannot speak GraphQL: the Scripts
Manager's API (accounts, folders, scripts, the tree, files, runs by path)
as thin adapters over the services GraphQL uses, so every limit, code and
access rule is the same one; and its OpenAPI document and page.

One module per resource; each declares its routes with their OpenAPI
description (spec.RestRoute), and `routes()` serves them all."""

from __future__ import annotations

from starlette.routing import BaseRoute

from graphql_api.rest import auth, files, folders, openapi, run, scripts, tree
from graphql_api.rest.spec import RestRoute

# Every REST path starts here; its routes answer their own errors.
PREFIX = "/api/"

REST_ROUTES: list[RestRoute] = [
    *auth.ROUTES,
    *folders.ROUTES,
    *scripts.ROUTES,
    *tree.ROUTES,
    *files.ROUTES,
    *run.ROUTES,
]


def routes() -> list[BaseRoute]:
    """Every REST route, with the OpenAPI document and its page."""
    return [*openapi.routes(REST_ROUTES)]
