"""The client error vocabulary (core/errors.py), a pure unit: the codes
clients branch on, the HTTP status each answers with, and the shape every
client error gives them."""

from __future__ import annotations

import json

import pytest

from core import errors
from core.errors import ClientError, ClientErrorCode

# Clients compare these strings: renaming one breaks them.
CODES_AND_STATUSES = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "RATE_LIMITED": 429,
    "BAD_USER_INPUT": 400,
    "INVALID_SCRIPT": 400,
    "PAYLOAD_TOO_LARGE": 413,
    "ALREADY_EXISTS": 409,
    "SCRIPT_EXISTS_REPLACE_REQUIRED": 409,
    "CONFLICT": 409,
    "NO_LIVE_WORKER": 409,
    "SERVICE_LIMIT_REACHED": 409,
    "BAD_REQUEST": 400,
    "MALFORMED_MULTIPART": 400,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "METHOD_NOT_ALLOWED": 405,
    "CSRF_PREVENTED": 400,
    "SUBSCRIPTION_NEEDS_WEBSOCKET": 400,
    "GRAPHQL_PARSE_FAILED": 400,
    "GRAPHQL_VALIDATION_FAILED": 400,
    "QUERY_TOO_COMPLEX": 400,
    "OPERATION_NAME_REQUIRED": 400,
    "OPERATION_NOT_FOUND": 400,
    "SUBSCRIBER_TOO_SLOW": 400,
    "STILL_RUNNING": 202,
    "SERVICE_UNAVAILABLE": 503,
    "SERVICE_UNREACHABLE": 502,
    "SERVICE_TIMED_OUT": 504,
    "SERVICE_RESPONSE_TOO_LARGE": 502,
    "INTERNAL_SERVER_ERROR": 500,
}

ERROR_CLASSES = [
    value
    for value in vars(errors).values()
    if isinstance(value, type) and issubclass(value, ClientError)
]


def test_the_codes_are_exactly_the_known_strings_with_their_statuses() -> None:
    assert {code.value: code.http_status for code in ClientErrorCode} == CODES_AND_STATUSES
    assert all(code.name == code.value for code in ClientErrorCode)


@pytest.mark.parametrize("error_class", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_each_client_error_names_its_code_once(error_class: type[ClientError]) -> None:
    error = error_class("What went wrong.", limit=3)
    assert isinstance(error.code, ClientErrorCode)
    assert error.http_status == error.code.http_status
    assert error.extensions == {"code": error.code.value, "limit": 3}
    # A plain string on the wire, as every serializer writes it.
    assert type(error.extensions["code"]) is str
    assert json.loads(json.dumps(error.extensions))["code"] == error.code.value
    assert (error.message, str(error)) == ("What went wrong.", "What went wrong.")


def test_no_two_error_classes_share_a_code() -> None:
    codes = [error_class.code for error_class in ERROR_CLASSES if error_class is not ClientError]
    assert len(codes) == len(set(codes))
