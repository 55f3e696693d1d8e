"""Subscriptions executed once for many subscribers (Hasura calls it
multiplexing).

A thousand sockets following one execution with the same document and
variables would otherwise run the same GraphQL selection on every event a
thousand times. Here each event's result is executed and serialized once per
*share key* (document, operation name, variables and the caller's visibility
class, `services.access.visibility_class`) and the same text is written to
every subscriber of that key: callers who may see different things never
share a key, so never a result.

Which subscriptions may be shared: only root fields whose stream starts from
the beginning for whoever subscribes (`executionUpdates` replays what was
printed, then goes live), so that a late subscriber shown the shared history
gets exactly what its own subscription would have shown it.

How a subscriber gets in: it runs its own subscription (its own parse,
validation, scope check and access check, with its own caller) until the
first result. A first result without errors that equals the first result of
a live shared stream of the same key means the two are the same stream: the
subscriber drops its own and follows the shared one from the start of its
history. Otherwise its own stream becomes the shared one of the key (or
stays its own, when its first result carries errors or differs). The shared
stream runs with the caller of the subscriber that started it, read once and
pinned, so that one subscriber's token ending (revoked, expired, narrowed)
ends that subscriber's operation (the socket's TokenWatch) and nobody
else's.

Per subscriber, only a position in the shared history is kept: the history
is held once, a slow subscriber falls behind on its own, and the stream
stops when its last subscriber leaves."""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import weakref
from collections.abc import Hashable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, GraphQLError, GraphQLSyntaxError, OperationDefinitionNode, parse
from graphql.language import OperationType
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from resolvers.context import Context

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from services.accounts import AccessSession

log = logging.getLogger(__name__)

# Root subscription fields whose stream replays from the start for every
# subscriber (see the module docstring before adding one).
SHAREABLE_ROOT_FIELDS = frozenset({"executionUpdates"})
# Documents remembered by `is_shareable`; a client sends few distinct ones.
DOCUMENT_CACHE_SIZE = 256


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def is_shareable(query: str, operation_name: str | None) -> bool:
    """Whether this document subscribes to one shareable root field and
    nothing else (one operation; no fragment or alias at the root)."""
    try:
        # The socket checked the document's size and tokens already.
        document = parse(query, no_location=True)
    except GraphQLSyntaxError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(document.definitions) != 1 or len(operations) != 1:
        return False
    operation = operations[0]
    if operation.operation is not OperationType.SUBSCRIPTION:
        return False
    if operation_name is not None and (
        operation.name is None or operation.name.value != operation_name
    ):
        return False
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return False
    field = selections[0]
    return field.alias is None and field.name.value in SHAREABLE_ROOT_FIELDS


_TEXTS: weakref.WeakValueDictionary[str, _Text] = weakref.WeakValueDictionary()


class _Text(str):
    """A str that a weak dictionary may hold."""

    __slots__ = ("__weakref__",)


def shared_text(text: str) -> str:
    """One object for equal texts held by many subscribers (their documents),
    kept as long as one of them holds it."""
    known = _TEXTS.get(text)
    if known is None:
        known = _TEXTS[text] = _Text(text)
    return known


def share_key(
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    visibility: Hashable,
) -> Hashable:
    # Canonical text of the variables: equal values, equal keys.
    canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    return (query, operation_name, canonical, visibility)


class PinnedContext(Context):
    """A context whose caller is the one read when the stream started: the
    shared stream's results depend on the share key only, never on a later
    read of one subscriber's token."""

    def __init__(self, base: Context, session: AccessSession) -> None:
        super().__init__(base.services, base.request, base.response)
        self.connection_params = base.connection_params
        self._pinned = session

    async def session(self) -> AccessSession:
        return self._pinned

    def forget_session(self) -> None:
        return None


class EndKind(enum.Enum):
    COMPLETE = "complete"
    ERROR = "error"
    INCREMENTAL = "incremental"


@dataclass(frozen=True)
class Ending:
    """How a stream ended: `complete`, or an `error` message's payload, or
    incremental delivery (which a subscription over a socket refuses)."""

    kind: EndKind
    errors: tuple[dict[str, Any], ...] = ()


COMPLETE = Ending(EndKind.COMPLETE)


def payload_of(result: ExecutionResult) -> str:
    """The `payload` of a `next` message, as JSON text (what Strawberry's
    `Operation.send_next` would send)."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return json.dumps(payload)


class SharedStream:
    """One subscription's results, executed once, held as `next` payloads
    (JSON text) in order, for any number of subscribers."""

    def __init__(self, source: AsyncGenerator[Any, None]) -> None:
        self.history: list[str] = []
        self.ending: Ending | None = None
        # Whether the first result came without errors (only then is the
        # stream offered to other subscribers).
        self.first_clean = False
        self._more = asyncio.Event()
        # After its first result a stream waits to be kept (adopted): one
        # dropped for a shared stream executes no more than that result (a
        # late subscriber's replay is not executed twice).
        self._kept = asyncio.Event()
        self._subscribers = 0
        self._on_idle: list[Any] = []
        self._pump = asyncio.create_task(self._run(source), name="shared-subscription")

    async def started(self) -> None:
        """Wait for the first result (or the end)."""
        await self.wait_beyond(0)

    async def wait_beyond(self, index: int) -> None:
        """Return once there is a payload at `index`, or the stream ended."""
        while index >= len(self.history) and self.ending is None:
            # Each waiter waits on the event of its round: a waiter that is
            # cancelled takes no one else's wake-up with it.
            await self._more.wait()

    def join(self) -> None:
        self._subscribers += 1
        self._kept.set()

    def leave(self) -> None:
        self._subscribers -= 1
        if self._subscribers <= 0 and self.ending is None:
            self.close()

    def close(self) -> None:
        """Stop executing (nobody listens any more)."""
        self._pump.cancel()
        for callback in self._on_idle:
            callback()
        self._on_idle.clear()

    def when_done(self, callback: Any) -> None:
        """Call `callback` once, when the stream ends or is closed."""
        self._on_idle.append(callback)

    def _wake(self) -> None:
        self._more.set()
        self._more = asyncio.Event()

    def _end(self, ending: Ending) -> None:
        if self.ending is None:
            self.ending = ending
        self._wake()
        for callback in self._on_idle:
            callback()
        self._on_idle.clear()

    async def _run(self, source: AsyncGenerator[Any, None]) -> None:
        try:
            async with aclosing(source):
                async for result in source:
                    if not self.history and isinstance(result, PreExecutionError):
                        errors = tuple(dict(error.formatted) for error in result.errors or [])
                        self._end(Ending(EndKind.ERROR, errors))
                        return
                    if not isinstance(result, ExecutionResult):
                        self._end(Ending(EndKind.INCREMENTAL))
                        return
                    first = not self.history
                    if first:
                        self.first_clean = not result.errors
                    self.history.append(payload_of(result))
                    self._wake()
                    if first:
                        await self._kept.wait()
            self._end(COMPLETE)
        except GraphQLError as error:
            # A parse error raised by a parsing extension (ParserCache).
            self._end(Ending(EndKind.ERROR, (dict(error.formatted),)))
        except asyncio.CancelledError:
            self._end(COMPLETE)
            raise
        except Exception:
            log.exception("a shared subscription failed")
            self._end(COMPLETE)


class SharedStreams:
    """The live shared streams of one GraphQL endpoint, by share key."""

    def __init__(self) -> None:
        self._streams: dict[Hashable, SharedStream] = {}

    def __len__(self) -> int:
        return len(self._streams)

    def adopt(self, key: Hashable, own: SharedStream) -> SharedStream:
        """The stream a subscriber whose own stream `own` has started should
        follow (joined already): the live shared stream of `key` when `own`
        began exactly as it did, else `own` (shared from now on when its
        first result was clean and the key has no stream)."""
        shared = self._streams.get(key)
        if (
            shared is not None
            and own.first_clean
            and shared.history
            and own.history
            and shared.history[0] == own.history[0]
        ):
            own.close()
            shared.join()
            return shared
        own.join()
        if shared is None and own.first_clean and own.ending is None:
            self._streams[key] = own
            own.when_done(lambda: self._forget(key, own))
        return own

    def _forget(self, key: Hashable, stream: SharedStream) -> None:
        if self._streams.get(key) is stream:
            del self._streams[key]


_REGISTRIES: weakref.WeakKeyDictionary[object, SharedStreams] = weakref.WeakKeyDictionary()


def shared_streams_of(endpoint: object) -> SharedStreams:
    """The shared streams of one GraphQL endpoint (view): subscribers of
    different apps in one process never share."""
    registry = _REGISTRIES.get(endpoint)
    if registry is None:
        registry = _REGISTRIES[endpoint] = SharedStreams()
    return registry
