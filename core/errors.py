"""Errors a client can cause, and the one vocabulary of codes they are shown.

Every code a client can read (GraphQL `extensions.code`, the REST path's
`error.code`, the downloads' and the HTTP-level refusals' bodies) is a
member of `ClientErrorCode`, with the HTTP status it answers with. Services
and the HTTP face raise a `ClientError` subclass, one per code something
raises; codes only ever written into a response (a parse failure, a CSRF
refusal) have no class. The error extension in `graphql_api/error_handling.py`
lets client errors through unmasked and masks everything else.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class ClientErrorCode(StrEnum):
    """What went wrong, as a client's code can branch on it. The values are
    a contract: clients compare them as strings."""

    # The caller and what it may reach.
    UNAUTHENTICATED = "UNAUTHENTICATED"
    # Seen, but not to be changed (or run) by this caller's role or token.
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    # What the caller sent.
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INVALID_SCRIPT = "INVALID_SCRIPT"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    SCRIPT_EXISTS_REPLACE_REQUIRED = "SCRIPT_EXISTS_REPLACE_REQUIRED"
    CONFLICT = "CONFLICT"
    # Nothing to run on: no live worker carries the tag asked for.
    NO_LIVE_WORKER = "NO_LIVE_WORKER"
    # A person has as many services up as the setting allows.
    SERVICE_LIMIT_REACHED = "SERVICE_LIMIT_REACHED"
    # The request itself, before any GraphQL runs.
    BAD_REQUEST = "BAD_REQUEST"
    MALFORMED_MULTIPART = "MALFORMED_MULTIPART"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CSRF_PREVENTED = "CSRF_PREVENTED"
    SUBSCRIPTION_NEEDS_WEBSOCKET = "SUBSCRIPTION_NEEDS_WEBSOCKET"
    # The GraphQL document.
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    OPERATION_NAME_REQUIRED = "OPERATION_NAME_REQUIRED"
    OPERATION_NOT_FOUND = "OPERATION_NOT_FOUND"
    # A subscription that stopped reading while events kept coming.
    SUBSCRIBER_TOO_SLOW = "SUBSCRIBER_TOO_SLOW"
    # The REST path only: the run outlived the request's wait. Not a failure
    # of the request (202): the client follows the run by its id.
    STILL_RUNNING = "STILL_RUNNING"
    # Not the client's doing, but told plainly.
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    # A user's HTTP service behind /services/{id}/: not answering, too slow,
    # or answering more than the proxy passes on.
    SERVICE_UNREACHABLE = "SERVICE_UNREACHABLE"
    SERVICE_TIMED_OUT = "SERVICE_TIMED_OUT"
    SERVICE_RESPONSE_TOO_LARGE = "SERVICE_RESPONSE_TOO_LARGE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

    @property
    def http_status(self) -> int:
        """The status a plain HTTP answer with this code has (400 unless listed)."""
        return _HTTP_STATUS.get(self, 400)


_HTTP_STATUS: dict[ClientErrorCode, int] = {
    ClientErrorCode.STILL_RUNNING: 202,
    ClientErrorCode.UNAUTHENTICATED: 401,
    ClientErrorCode.FORBIDDEN: 403,
    ClientErrorCode.NOT_FOUND: 404,
    ClientErrorCode.METHOD_NOT_ALLOWED: 405,
    ClientErrorCode.ALREADY_EXISTS: 409,
    ClientErrorCode.SCRIPT_EXISTS_REPLACE_REQUIRED: 409,
    ClientErrorCode.CONFLICT: 409,
    ClientErrorCode.NO_LIVE_WORKER: 409,
    ClientErrorCode.SERVICE_LIMIT_REACHED: 409,
    ClientErrorCode.PAYLOAD_TOO_LARGE: 413,
    ClientErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ClientErrorCode.RATE_LIMITED: 429,
    ClientErrorCode.INTERNAL_SERVER_ERROR: 500,
    ClientErrorCode.SERVICE_UNAVAILABLE: 503,
    ClientErrorCode.SERVICE_UNREACHABLE: 502,
    ClientErrorCode.SERVICE_RESPONSE_TOO_LARGE: 502,
    ClientErrorCode.SERVICE_TIMED_OUT: 504,
}


class ClientError(Exception):
    """An error the client can act on: a message a person understands, a
    code a program branches on, and any further extensions (keyword args)."""

    code: ClassVar[ClientErrorCode] = ClientErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extensions

    @property
    def http_status(self) -> int:
        return self.code.http_status

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code.value, **self.extra}


class BadUserInput(ClientError):
    code = ClientErrorCode.BAD_USER_INPUT


class Unauthenticated(ClientError):
    code = ClientErrorCode.UNAUTHENTICATED


class Forbidden(ClientError):
    """The caller sees the object but its role or token scope does not allow
    this operation. What a caller may not see is NotFound instead."""

    code = ClientErrorCode.FORBIDDEN


class NotFound(ClientError):
    code = ClientErrorCode.NOT_FOUND


class AlreadyExists(ClientError):
    code = ClientErrorCode.ALREADY_EXISTS


class ScriptExistsReplaceRequired(ClientError):
    code = ClientErrorCode.SCRIPT_EXISTS_REPLACE_REQUIRED


class InvalidScript(ClientError):
    code = ClientErrorCode.INVALID_SCRIPT


class PayloadTooLarge(ClientError):
    code = ClientErrorCode.PAYLOAD_TOO_LARGE


class RateLimited(ClientError):
    code = ClientErrorCode.RATE_LIMITED


class ServiceUnavailable(ClientError):
    """Not the client's fault, but worth telling them plainly (e.g. storage down)."""

    code = ClientErrorCode.SERVICE_UNAVAILABLE


class FellBehind(ClientError):
    """A subscriber that stopped reading while events kept coming: its buffer
    is full, so the stream ends rather than silently skipping events."""

    code = ClientErrorCode.SUBSCRIBER_TOO_SLOW


class Conflict(ClientError):
    """Someone else changed the same thing at the same moment; try again."""

    code = ClientErrorCode.CONFLICT


class NoLiveWorker(ClientError):
    """A run on every worker of a tag that no live worker carries: refused,
    since there is nothing to fan out over (a single run with that `target`
    is queued instead, and waits)."""

    code = ClientErrorCode.NO_LIVE_WORKER


class ServiceLimitReached(ClientError):
    """Starting one more service would pass the owner's limit of services up
    at once (SCRIPTBOX_MAX_SERVICES_PER_USER); stop one first."""

    code = ClientErrorCode.SERVICE_LIMIT_REACHED


class MalformedRequest(ClientError):
    """The request itself cannot be read (not JSON, not UTF-8, wrong shape)."""

    code = ClientErrorCode.BAD_REQUEST


class MalformedMultipart(MalformedRequest):
    """A GraphQL multipart request whose parts cannot be read or put together."""

    code = ClientErrorCode.MALFORMED_MULTIPART


class UnsupportedMediaType(ClientError):
    code = ClientErrorCode.UNSUPPORTED_MEDIA_TYPE


class MethodNotAllowed(ClientError):
    """A mutation over GET: GET must be safe to repeat (and to prefetch)."""

    code = ClientErrorCode.METHOD_NOT_ALLOWED


class OperationNameRequired(ClientError):
    code = ClientErrorCode.OPERATION_NAME_REQUIRED


class OperationNotFound(ClientError):
    code = ClientErrorCode.OPERATION_NOT_FOUND


class ServiceUnreachable(ClientError):
    """A user's HTTP service is not listening, or hung up without answering."""

    code = ClientErrorCode.SERVICE_UNREACHABLE


class ServiceTimedOut(ClientError):
    """A user's HTTP service did not answer within the proxy's time limits."""

    code = ClientErrorCode.SERVICE_TIMED_OUT


class ServiceResponseTooLarge(ClientError):
    """A user's HTTP service announced a response over the proxy's cap."""

    code = ClientErrorCode.SERVICE_RESPONSE_TOO_LARGE
