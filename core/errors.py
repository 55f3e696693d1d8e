"""Errors a client can cause, each with a stable `extensions.code`.

Resolvers and services raise these; the error extension in `graphql_api/schema.py` lets
them through unmasked and masks everything else.
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    code = "BAD_USER_INPUT"
    http_status = 400

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extensions

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.extra}


class BadUserInput(ClientError):
    code = "BAD_USER_INPUT"


class Unauthenticated(ClientError):
    code = "UNAUTHENTICATED"
    http_status = 401


class NotFound(ClientError):
    code = "NOT_FOUND"
    http_status = 404


class AlreadyExists(ClientError):
    code = "ALREADY_EXISTS"
    http_status = 409


class ScriptExistsReplaceRequired(ClientError):
    code = "SCRIPT_EXISTS_REPLACE_REQUIRED"
    http_status = 409


class InvalidScript(ClientError):
    code = "INVALID_SCRIPT"


class PayloadTooLarge(ClientError):
    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class RateLimited(ClientError):
    code = "RATE_LIMITED"
    http_status = 429


class ServiceUnavailable(ClientError):
    """Not the client's fault, but worth telling them plainly (e.g. storage down)."""

    code = "SERVICE_UNAVAILABLE"
    http_status = 503


class FellBehind(ClientError):
    """A subscriber that stopped reading while events kept coming: its buffer
    is full, so the stream ends rather than silently skipping events."""

    code = "SUBSCRIBER_TOO_SLOW"


class Conflict(ClientError):
    """Someone else changed the same thing at the same moment; try again."""

    code = "CONFLICT"
    http_status = 409
