"""B5's baseline: a bare Strawberry hello-world on the service's stack
(Starlette + uvicorn), served with the same uvicorn settings as
`scriptbox serve` (graphql_api/cli.py)."""

from __future__ import annotations

import argparse
import logging

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


def create_app() -> Starlette:
    graphql: GraphQL[None, None] = GraphQL(strawberry.Schema(query=Query), graphql_ide="graphiql")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    # As `scriptbox serve` does (graphql_api/cli.py main + _serve).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        ws_max_size=4 * 2**20,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
