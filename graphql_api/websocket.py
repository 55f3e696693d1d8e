"""GraphQL over WebSocket (graphql-transport-ws and the legacy graphql-ws),
held to the rules a single HTTP request is held to.

A socket outlives the access token it was opened with, so the token is not
trusted once at `connection_init` and then forever:

- every operation sent on the socket (subscriptions, and queries or mutations
  sent over it) first re-reads the token and the account: an expired token
  or a deleted account gets that operation an `error` (UNAUTHENTICATED) and
  the socket closed with 4403;
- a timer set from the token's `exp` when the connection is accepted ends
  each live subscription with the same `error`, then closes with 4403, so a
  subscriber is told why its stream stopped.

Neither protocol lets a client renew a token in-band (graphql-transport-ws
closes a second `connection_init` with 4429), so a client reconnects with a
fresh token and subscribes again.

Client mistakes are answered per protocol instead of surfacing as an
exception in a worker task: a malformed message closes graphql-transport-ws
with 4400 (legacy graphql-ws answers with an `error` message); a document
that fails to parse or validate, or a payload that is too deep or holds a
lone surrogate or NUL (client_input.py), gets an `error` message whose
`extensions.code` says which.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, cast

from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage,
    OperationMessage,
    StartMessage,
)
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from core import metrics
from core.errors import (
    BadUserInput,
    ClientError,
    FellBehind,
    Forbidden,
    MalformedRequest,
    Unauthenticated,
)
from graphql_api.client_input import (
    INLINE_LIMIT_BYTES,
    MAX_JSON_DEPTH,
    MAX_JSON_VALUES,
    check_client_value_async,
)
from graphql_api.document_checks import DocumentLimits, check_document
from graphql_api.error_handling import code_of_uncoded_message
from graphql_api.shared_streams import (
    EndKind,
    PinnedContext,
    SharedStream,
    is_shareable,
    share_key,
    shared_streams_of,
    shared_text,
)
from resolvers.context import Context
from services.access import reaches_less, visibility_class

FORBIDDEN = 4403
ACCESS_NARROWED = Forbidden(
    "Access was taken away (a share or a group membership ended); subscribe again."
)
TOO_DEEP = BadUserInput(f"The message is nested too deeply (at most {MAX_JSON_DEPTH} levels).")


async def accept_connection(context: Context) -> None:
    """connection_init: the socket is accepted only with a valid token."""
    context.forget_session()
    try:
        await context.session()
    except Unauthenticated:
        # Both protocols close the socket with 4403 on this error.
        raise ConnectionRejectionError({"message": "Authentication required"}) from None


def error_payload(error: ClientError) -> dict[str, Any]:
    return {"message": error.message, "extensions": error.extensions}


# A subscriber of a shared stream that fell behind gets what the bus's
# SubscriberTooSlow would have got it.
FELL_BEHIND_PAYLOAD = json.dumps(
    {
        "data": None,
        "errors": [
            error_payload(
                FellBehind(
                    "This subscription fell too far behind and was ended; subscribe again "
                    "(a new subscription replays what was already printed)."
                )
            )
        ],
    }
)


def with_code(error: dict[str, Any]) -> dict[str, Any]:
    """A formatted GraphQL error, given a code when it has none.

    Errors raised before execution (parsing, validation) skip the schema's
    error formatting, so they arrive here without `extensions.code`."""
    extensions = error.get("extensions") or {}
    if "code" in extensions:
        return error
    code = code_of_uncoded_message(str(error.get("message", "")))
    return {**error, "extensions": {**extensions, "code": code.value}}


def operation_shape_problem(message: dict[str, Any]) -> str | None:
    """Why a subscribe/start message is malformed, or None when it is not."""
    if not isinstance(message.get("id"), str) or not message["id"]:
        return "The operation needs a non-empty string 'id'."
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return "The operation needs an object 'payload'."
    if not isinstance(payload.get("query"), str):
        return "The operation's 'query' must be a string."
    for key, kind in (("variables", dict), ("extensions", dict), ("operationName", str)):
        if payload.get(key) is not None and not isinstance(payload[key], kind):
            return f"The operation's '{key}' has the wrong type."
    return None


async def check_operation(context: Context, payload: dict[str, Any]) -> None:
    """The checks an HTTP request passes, for an operation sent over a socket:
    its values (depth, surrogates, NUL) and its document (operation selection,
    NUL in literals). The payload's shape was checked before."""
    # In a thread: a payload may be megabytes of small values to walk.
    await check_client_value_async(payload, what="The operation's payload")
    settings = context.services.settings
    check_document(
        payload["query"],
        payload.get("operationName"),
        "WEBSOCKET",
        DocumentLimits(settings.max_query_tokens, settings.max_query_length),
    )


class TooDeepMessage(dict[str, Any]):
    """A message nested deeper than the JSON decoder can go (RecursionError),
    kept to its top two levels so that its type and id can still be read."""


# Strings (with their escapes) and brackets: what decides JSON nesting.
_JSON_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def top_levels(text: str, keep: int = 2) -> Any:
    """`text` decoded with every container below `keep` levels as null.

    Iterative and linear in the text's size (the socket caps a message's
    size), so any depth is read without recursion."""
    pieces: list[str] = []
    depth = 0
    start = 0
    for match in _JSON_STRUCTURE.finditer(text):
        token = match.group()
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
            if depth == keep + 1:
                pieces += [text[start : match.start()], "null"]
        else:
            if depth == keep + 1:
                start = match.end()
            depth -= 1
    pieces.append(text[start:])
    return json.loads("".join(pieces))


class ClientMessageAdapter(ASGIWebSocketAdapter):
    """Reads messages so that one nested too deeply to decode is answered
    (as a TooDeepMessage) instead of ending the socket with a RecursionError;
    sends a message already serialized (a shared subscription's)."""

    async def send_text(self, text: str) -> None:
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                try:
                    message: object = await _decode(text)
                except ValueError as exc:
                    if ignore_parsing_errors:
                        continue
                    raise NonJsonMessageReceived from exc
                del text
                yield message
                # Handled: what an operation keeps was taken out of it, but
                # Strawberry's loop variable would hold the message (its
                # query text, its payload) for as long as the socket idles.
                if type(message) is dict:
                    message.clear()
                del message
        except KeyError as exc:  # a binary frame has no "text"
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass


async def _decode(text: str) -> object:
    # Parsing holds the event loop for as long as it takes: a message of more
    # values than any operation needs is not read at all (a malformed message).
    if len(text) > INLINE_LIMIT_BYTES and text.count(",") > MAX_JSON_VALUES:
        raise ValueError("too many JSON values")
    try:
        return json.loads(text)
    except RecursionError:
        # Off the event loop: a big message takes a while to walk.
        shallow = await asyncio.to_thread(top_levels, text)
        if not isinstance(shallow, dict):
            raise ValueError("not an object") from None
        return TooDeepMessage(shallow)


class TokenWatch:
    """A socket's hold on its token: `refusal` re-checks it before an
    operation; `on_expiry` runs when the token's expiry arrives, or when
    access taken away elsewhere (a revoked token, a deactivated account)
    refuses it; `on_narrowed` when the caller still may connect but reaches
    less than before (a grant or membership removed)."""

    def __init__(
        self,
        context: Context,
        on_expiry: Callable[[ClientError], Awaitable[None]],
        on_narrowed: Callable[[ClientError], Awaitable[None]],
    ) -> None:
        self._context = context
        self._on_expiry = on_expiry
        self._on_narrowed = on_narrowed
        # A timer and a listener, not tasks: an idle socket holds no
        # coroutine of its own until its token expires or access changes.
        self._timer: asyncio.TimerHandle | None = None
        self._stop_listening: Callable[[], None] | None = None
        self._check: asyncio.Task[None] | None = None
        self._expiry: asyncio.Task[None] | None = None
        self._check_again = False

    def start(self) -> None:
        expires_at = self._context.token_expires_at
        loop = asyncio.get_running_loop()
        if self._timer is None and expires_at is not None:
            delay = max(0.0, (expires_at - datetime.now(UTC)).total_seconds())
            self._timer = loop.call_later(delay, self._expired)
        if self._stop_listening is None:
            watch = self._context.services.access_watch
            self._stop_listening = watch.on_change(self._access_changed)

    def _expired(self) -> None:
        self._timer = None
        self._expiry = asyncio.create_task(self._expire())

    async def _expire(self) -> None:
        await self._on_expiry(Unauthenticated("The access token has expired; log in again."))

    def _access_changed(self) -> None:
        if self._check is not None and not self._check.done():
            self._check_again = True  # once the running check is over
            return
        self._check = asyncio.create_task(self._recheck())

    async def _recheck(self) -> None:
        while True:
            self._check_again = False
            before = self._context.current_caller
            refusal = await self.refusal()
            if refusal is not None:
                await self._on_expiry(refusal)
                return
            after = self._context.current_caller
            if before is not None and after is not None and reaches_less(before, after):
                await self._on_narrowed(ACCESS_NARROWED)
            if not self._check_again:
                return

    async def refusal(self) -> ClientError | None:
        """Why no operation may run now (token expired, account gone), or None."""
        # Read again, not from the cache: resolvers then see the account as
        # it is now, and an expired token fails to decode.
        self._context.forget_session()
        try:
            await self._context.session()
        except Unauthenticated as exc:
            return exc
        return None

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._stop_listening is not None:
            self._stop_listening()
        for task in (self._check, self._expiry):
            if task is None or task is asyncio.current_task():
                continue
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws (https://github.com/enisdenjo/graphql-ws)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token = TokenWatch(self.context, self.end_with, self.end_operations)

    async def handle_message(self, message: Message) -> None:
        if (
            isinstance(message, TooDeepMessage)
            and message.get("type") == "subscribe"
            and isinstance(message.get("id"), str)
            and message["id"] not in self.operations
        ):
            await self._send_error(message["id"], [error_payload(TOO_DEEP)])
            return
        if isinstance(message, TooDeepMessage) or not isinstance(message, dict):
            await self.handle_invalid_message("Invalid message received")
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        # Cancelled by the line above; what is left of it is garbage that an
        # idle socket would otherwise keep.
        self.connection_init_timeout_task = None
        if self.connection_acknowledged:
            self.token.start()

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        raw = cast("dict[str, Any]", message)
        if not self.connection_acknowledged or raw.get("id") in self.operations:
            await super().handle_subscribe(message)  # closes with 4401 / 4409
            return
        problem = operation_shape_problem(raw)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        try:
            await check_operation(self.context, raw["payload"])
        except ClientError as exc:
            await self._send_error(message["id"], [error_payload(exc)])
            return
        refusal = await self.token.refusal()
        if refusal is not None:
            await self._send_error(message["id"], [error_payload(refusal)])
            await self.end_with(refusal)
            return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        with metrics.ACTIVE_SUBSCRIPTIONS.track_inprogress():
            await self._run_operation(operation)

    async def _run_operation(self, operation: Operation[Context, None]) -> None:
        if is_shareable(operation.query, operation.operation_name):
            # One copy of a document that thousands of sockets hold.
            operation.query = shared_text(operation.query)
            await self.run_shared_operation(operation)
            return
        # Strawberry's, except that a GraphQLError raised while parsing (by
        # a parsing extension such as ParserCache) is the client's `error`.
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self.context,
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            try:
                async with aclosing(result_source):
                    await self._send_result_stream(operation, result_source)
            except GraphQLError as error:
                await operation.send_initial_errors([error])
                return
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except Exception as error:
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def run_shared_operation(self, operation: Operation[Context, None]) -> None:
        """A subscription executed once per event for every subscriber of
        its share key (shared_streams.py): this one's own stream until its
        first result, then the shared stream it matches."""
        try:
            session = await self.context.session()
        except Unauthenticated as refusal:
            await self._send_error(operation.id, [error_payload(refusal)])
            return
        own = SharedStream(
            await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=PinnedContext(self.context, session),
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
        )
        try:
            await own.started()
        except BaseException:
            own.close()
            raise
        key = share_key(
            operation.query,
            operation.operation_name,
            operation.variables,
            visibility_class(session.caller),
        )
        stream = shared_streams_of(self.view).adopt(key, own)
        # A stream dropped for a shared one is garbage from here on (this
        # frame lives as long as the subscription).
        del own
        try:
            await self._follow(operation, stream)
        except WebSocketDisconnected:
            return  # the client went away
        except Exception as error:
            await self.handle_task_exception(error)
        finally:
            stream.leave()

    async def _follow(self, operation: Operation[Context, None], stream: SharedStream) -> None:
        """Every payload of `stream` from the first, in order, then its end."""
        head = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        adapter = cast("ClientMessageAdapter", self.websocket)
        # A client that stops reading blocks the write of one message (the
        # socket's buffers are full); when more events than a subscriber's
        # queue holds arrive meanwhile, it is ended as such a queue would end
        # it. (A replay sent in a burst to a client that reads is not.)
        limit = self.context.services.settings.subscriber_queue_limit
        sent = 0
        while True:
            while sent < len(stream.history):
                if operation.completed:  # ended by an `error` sent elsewhere
                    return
                produced = len(stream.history)
                await adapter.send_text(head + stream.history[sent] + "}")
                sent += 1
                if len(stream.history) - produced > limit:
                    await adapter.send_text(head + FELL_BEHIND_PAYLOAD + "}")
                    await operation.send_operation_message({"id": operation.id, "type": "complete"})
                    return
            if stream.ending is not None:
                break
            await stream.wait_beyond(sent)
        ending = stream.ending
        if ending.kind is EndKind.ERROR:
            await self._send_error(operation.id, list(ending.errors))
        elif ending.kind is EndKind.INCREMENTAL:
            await self._reject_incremental_delivery(operation)
        else:
            await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def _handle_pre_execution_error(
        self, operation: Operation[Context, None], result: PreExecutionError
    ) -> None:
        # Strawberry closes the socket for syntax errors; the protocol's
        # `error` message is for exactly this, and keeps other operations.
        await operation.send_initial_errors(result.errors or [])

    async def send_message(self, message: Message) -> None:
        if message["type"] == "error":
            errors = cast("list[dict[str, Any]]", message["payload"])
            message["payload"] = cast("Any", [with_code(error) for error in errors])
        await super().send_message(message)

    async def _send_error(self, operation_id: str, errors: list[dict[str, Any]]) -> None:
        await self.send_message(
            cast("Message", {"id": operation_id, "type": "error", "payload": errors})
        )

    async def end_operations(self, error: ClientError) -> None:
        """Tell each live operation why it ends, and end it."""
        with contextlib.suppress(WebSocketDisconnected, RuntimeError):
            for operation in list(self.operations.values()):
                ended = {"id": operation.id, "type": "error", "payload": [error_payload(error)]}
                await operation.send_operation_message(cast("Message", ended))
                if operation.task is not None:
                    operation.task.cancel()

    async def end_with(self, error: ClientError) -> None:
        """Tell each live operation why it ends, then close with 4403."""
        await self.end_operations(error)
        with contextlib.suppress(WebSocketDisconnected, RuntimeError):
            await self.websocket.close(code=FORBIDDEN, reason=f"Forbidden: {error.message}")

    async def shutdown(self) -> None:
        await self.token.stop()
        await super().shutdown()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol (subscriptions-transport-ws)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token = TokenWatch(self.context, self.end_with, self.end_operations)

    async def handle_message(self, message: OperationMessage) -> None:
        raw = cast("object", message)
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            invalid = MalformedRequest("Invalid message received.")
            await self._send_error(None, error_payload(invalid))
            return
        if isinstance(raw, TooDeepMessage):
            operation_id = raw.get("id")
            await self._send_error(
                operation_id if isinstance(operation_id, str) else None, error_payload(TOO_DEEP)
            )
            return
        if raw["type"] not in ("connection_init", "connection_terminate", "start", "stop"):
            await self._send_error(
                None, error_payload(MalformedRequest(f"Unknown message type {raw['type']!r}."))
            )
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        # The protocol answers a refused connection_init with close code
        # 1011; close with 4403 instead, as graphql-transport-ws does, so
        # clients see one code for a bad token.
        websocket = self.websocket
        original_close = websocket.close

        async def close(code: int, reason: str) -> None:
            await original_close(4403 if code == 1011 else code, reason or "Forbidden")

        websocket.close = close  # type: ignore[method-assign]
        try:
            await super().handle_connection_init(message)
        finally:
            websocket.close = original_close  # type: ignore[method-assign]
        if self.connection_acknowledged:
            self.token.start()

    async def handle_start(self, message: StartMessage) -> None:
        raw = cast("dict[str, Any]", message)
        if not self.connection_acknowledged:
            await super().handle_start(message)  # closes with 4401
            return
        operation_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        problem = operation_shape_problem(raw)
        if problem is not None:
            await self._send_error(operation_id, error_payload(MalformedRequest(problem)))
            return
        try:
            await check_operation(self.context, raw["payload"])
        except ClientError as exc:
            await self._send_error(operation_id, error_payload(exc))
            return
        refusal = await self.token.refusal()
        if refusal is not None:
            await self._send_error(operation_id, error_payload(refusal))
            await self.end_with(refusal)
            return
        await super().handle_start(message)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        try:
            with metrics.ACTIVE_SUBSCRIPTIONS.track_inprogress():
                await super().handle_async_results(operation_id, query, operation_name, variables)
        except GraphQLError as error:
            # A parse error raised by a parsing extension (ParserCache).
            await self._send_error(operation_id, dict(error.formatted))

    async def send_message(self, message: OperationMessage) -> None:
        if message["type"] == "error":
            message["payload"] = cast("Any", with_code(cast("dict[str, Any]", message["payload"])))
        await super().send_message(message)

    async def _send_error(self, operation_id: str | None, error: dict[str, Any]) -> None:
        message = {"type": "error", "id": operation_id, "payload": error}
        await self.send_message(cast("OperationMessage", message))

    async def end_operations(self, error: ClientError) -> None:
        """Tell each live subscription why it ends, and end it."""
        with contextlib.suppress(WebSocketDisconnected, RuntimeError):
            for operation_id, task in list(self.tasks.items()):
                await self._send_error(operation_id, error_payload(error))
                task.cancel()

    async def end_with(self, error: ClientError) -> None:
        """Tell each live subscription why it ends, then close with 4403."""
        with contextlib.suppress(WebSocketDisconnected, RuntimeError):
            for operation_id in list(self.tasks):
                await self._send_error(operation_id, error_payload(error))
            await self.websocket.close(code=FORBIDDEN, reason=f"Forbidden: {error.message}")

    async def cleanup(self) -> None:
        await self.token.stop()
        await super().cleanup()
