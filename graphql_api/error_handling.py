"""Turns every error into one a client can act on, with `extensions.code`.

Client errors keep their message and code. Parse and validation errors get
GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED (BAD_USER_INPUT for bad
variable values). Anything else is logged with the request id and masked,
so no stack trace or internal detail reaches a client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import StreamExecutionResult
from strawberry.types.execution import ExecutionContext
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult

from core.errors import ClientError, ClientErrorCode, FellBehind, ServiceUnavailable
from services.events import SubscriberTooSlow
from storage import StorageUnavailable

log = logging.getLogger("scriptbox.errors")

INTERNAL_MESSAGE = "Internal error. Quote reference {request_id} when reporting it."
# graphql-core's refusals of variable values: the client's input, not its document.
VARIABLE_MESSAGES = ("Variable '$", 'Variable "$')


def request_id_of(execution_context: ExecutionContext | None) -> str:
    context = getattr(execution_context, "context", None)
    return str(getattr(context, "request_id", "-"))


def client_error_of(error: GraphQLError) -> ClientError | None:
    original = error.original_error
    if isinstance(original, ClientError):
        return original
    if isinstance(original, StorageUnavailable):
        return ServiceUnavailable("Storage is unavailable; try again shortly.")
    if isinstance(original, SubscriberTooSlow):
        return FellBehind(
            "This subscription fell too far behind and was ended; subscribe again "
            "(a new subscription replays what was already printed)."
        )
    return None


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    # A GraphQLError as the cause is graphql-core refusing input (e.g. a
    # variable of the wrong type): the client's doing, not a fault.
    return (
        original is not None
        and not isinstance(original, GraphQLError)
        and client_error_of(error) is None
    )


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    request_id = request_id_of(execution_context)
    for error in errors:
        if is_unexpected(error):
            original = error.original_error
            log.error(
                "unexpected error [request %s] at %s",
                request_id,
                error.path,
                exc_info=(type(original), original, original.__traceback__)
                if original is not None
                else None,
            )


def code_of_uncoded_message(message: str) -> ClientErrorCode:
    """The code of a formatted error that arrived without one: errors raised
    before execution (by a parsing extension, say) skip the schema's error
    formatting, so HTTP and WebSocket answers give them their code from this."""
    if message.startswith("Syntax Error"):
        return ClientErrorCode.GRAPHQL_PARSE_FAILED
    if message.startswith(VARIABLE_MESSAGES):
        return ClientErrorCode.BAD_USER_INPUT
    return ClientErrorCode.GRAPHQL_VALIDATION_FAILED


def _code_for_graphql_error(error: GraphQLError, stage: str) -> ClientErrorCode:
    if error.message.startswith(VARIABLE_MESSAGES):
        return ClientErrorCode.BAD_USER_INPUT
    if stage == "parse":
        return ClientErrorCode.GRAPHQL_PARSE_FAILED
    return ClientErrorCode.GRAPHQL_VALIDATION_FAILED


class ClientErrorFormatter(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        self._format_result(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        # A subscription sends each result as it comes, long before
        # on_operation ends: an error raised mid-stream (a subscriber that
        # fell behind) gets its code here or not at all.
        self._format_result(result)
        yield

    def _format_result(self, result: object) -> None:
        if isinstance(result, GraphQLExecutionResult | StrawberryExecutionResult) and result.errors:
            result.errors = [self._format(error) for error in result.errors]

    def _format(self, error: GraphQLError) -> GraphQLError:
        extensions: dict[str, Any]
        message = error.message
        client_error = client_error_of(error)
        if client_error is not None:
            extensions = {**(error.extensions or {}), **client_error.extensions}
            message = client_error.message
        elif is_unexpected(error):
            request_id = request_id_of(self.execution_context)
            message = INTERNAL_MESSAGE.format(request_id=request_id)
            extensions = {
                "code": ClientErrorCode.INTERNAL_SERVER_ERROR.value,
                "requestId": request_id,
            }
        else:
            stage = "parse" if self.execution_context.graphql_document is None else "validate"
            code = (error.extensions or {}).get("code") or _code_for_graphql_error(
                error, stage
            ).value
            extensions = {**(error.extensions or {}), "code": code}
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions=extensions,
        )
