"""GraphQL over HTTP: one request, its `data`, or a ServiceError carrying
the service's message and `extensions.code`."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from client.errors import ServiceError, Unreachable

# Runs with `wait` and large trees may take a while; a hang still ends.
TIMEOUT = httpx.Timeout(120.0, connect=10.0)


class Api:
    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(timeout=TIMEOUT, headers=headers)

    def __enter__(self) -> Api:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._http.close()

    def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._send(json={"query": document, "variables": variables or {}})

    def upload(
        self,
        document: str,
        variables: dict[str, Any],
        variable_path: str,
        file: Path,
        filename: str,
    ) -> dict[str, Any]:
        """A GraphQL multipart request with one file at `variable_path`
        (e.g. "variables.file"), sent under `filename`."""
        with file.open("rb") as content:
            return self._send(
                data={
                    "operations": json.dumps({"query": document, "variables": variables}),
                    "map": json.dumps({"0": [variable_path]}),
                },
                files={"0": (filename, content, "application/octet-stream")},
                # The service refuses multipart without this (CSRF protection).
                headers={"Apollo-Require-Preflight": "true"},
            )

    def _send(self, **request: Any) -> dict[str, Any]:
        try:
            response = self._http.post(f"{self.url}/graphql", **request)
        except httpx.HTTPError as exc:
            raise Unreachable(f"cannot reach {self.url}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise Unreachable(
                f"{self.url}/graphql answered HTTP {response.status_code}, not GraphQL"
            ) from None
        if not isinstance(body, dict):
            raise Unreachable(f"{self.url}/graphql answered something that is not GraphQL")
        errors = body.get("errors")
        if errors:
            first = errors[0] if isinstance(errors[0], dict) else {}
            code = (first.get("extensions") or {}).get("code")
            raise ServiceError(str(first.get("message", "the service refused")), code)
        data = body.get("data")
        if not isinstance(data, dict):
            raise Unreachable(f"{self.url}/graphql answered without data")
        return data
