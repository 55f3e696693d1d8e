"""What the GraphQL schema tells the request observer (graphql_api/observe.py):
the operation's name, for the request counter's `operation` label; and,
when tracing is on, a span per root field (they are what reads and writes
the database)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLResolveInfo, OperationType
from strawberry.extensions import SchemaExtension
from strawberry.utils.await_maybe import AwaitableOrValue

from core import tracing
from graphql_api.observe import OPERATION_STATE


class NamedOperation(SchemaExtension):
    """Puts the operation's name on the HTTP request's state."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        request = getattr(context, "request", None)
        state = getattr(request, "scope", {}).get("state")
        if isinstance(state, dict):
            state[OPERATION_STATE] = self.execution_context.operation_name


class TracedRootFields(SchemaExtension):
    """A span around each root query and mutation field (only in the schema
    when tracing is on: a resolve hook costs every field a call)."""

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> AwaitableOrValue[object]:
        if info.path.prev is not None or info.operation.operation is OperationType.SUBSCRIPTION:
            result: object = _next(root, info, *args, **kwargs)
            return result
        return _traced(_next, root, info, args, kwargs)


async def _traced(
    _next: Callable[..., Any],
    root: Any,
    info: GraphQLResolveInfo[Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> object:
    operation = info.operation.name.value if info.operation.name else None
    name = f"graphql {info.parent_type.name}.{info.field_name}"
    with tracing.span(name, {"graphql.operation.name": operation}):
        result = _next(root, info, *args, **kwargs)
        return await result if inspect.isawaitable(result) else result


def observing_extensions() -> list[Any]:
    return [NamedOperation, TracedRootFields] if tracing.enabled() else [NamedOperation]
