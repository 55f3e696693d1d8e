"""Checks of a GraphQL document that decide, before anything executes,
which operation a request runs and whether its text may reach a resolver.

- Operation selection as the GraphQL spec's GetOperation says: a document
  with several operations needs `operationName` (graphql-core would pick the
  first one otherwise, through Strawberry), and the name must exist.
- Over GET only queries run: GET must be safe to repeat (HTTP 405 otherwise).
- String literals in the document must be storable. graphql-core's lexer
  already refuses a lone surrogate escape ("\\ud800") as a syntax error, and
  the raw characters never get here (the request body is checked first), but
  "\\u0000" (or "\\u{0}") lexes to a NUL character that PostgreSQL refuses.

The facts of a document are cached by its text, as Strawberry's parser cache
does, so a client repeating a query pays for one parse."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from graphql import GraphQLError, Node, OperationDefinitionNode, StringValueNode, parse
from graphql.language import OperationType

from core.errors import (
    BadUserInput,
    ClientError,
    MethodNotAllowed,
    OperationNameRequired,
    OperationNotFound,
)


@dataclass(frozen=True)
class DocumentLimits:
    """The parser's limits, the same ones the schema parses with."""

    max_tokens: int
    max_length: int


@dataclass(frozen=True)
class DocumentFacts:
    operations: tuple[tuple[str | None, OperationType], ...]
    has_nul_in_a_string: bool


@lru_cache(maxsize=256)
def facts_of(query: str, max_tokens: int, max_length: int) -> DocumentFacts | None:
    """None when the document does not parse: Strawberry reports that itself,
    with the same limits, in its usual shape."""
    try:
        document = parse(
            query, no_location=True, max_tokens=max_tokens, max_source_length=max_length
        )
    except GraphQLError:
        return None
    operations = tuple(
        (definition.name.value if definition.name else None, definition.operation)
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    )
    # Only a \u escape can put a NUL into a literal that got this far.
    return DocumentFacts(operations, "\\u" in query and _has_nul_in_a_string(document))


def check_document(
    query: str, operation_name: str | None, method: str, limits: DocumentLimits
) -> None:
    """Raise a ClientError when the request must not run (see the docstring)."""
    facts = facts_of(query, limits.max_tokens, limits.max_length)
    if facts is None:
        return
    if facts.has_nul_in_a_string:
        raise BadUserInput("A string in the query contains a NUL character, which is not allowed.")
    operation_type = _selected_operation(facts, operation_name)
    if method == "GET" and operation_type not in (None, OperationType.QUERY):
        raise MethodNotAllowed(
            f"A {operation_type.value} cannot be sent with GET; send it with POST."
        )


def selected_operation_type(
    query: str, operation_name: str | None, limits: DocumentLimits
) -> OperationType | None:
    """The type of the operation a request would run; None when that is not
    known (the document does not parse, or the selection is refused)."""
    facts = facts_of(query, limits.max_tokens, limits.max_length)
    if facts is None:
        return None
    try:
        return _selected_operation(facts, operation_name)
    except ClientError:
        return None


def _selected_operation(facts: DocumentFacts, name: str | None) -> OperationType | None:
    if name is None:
        if len(facts.operations) > 1:
            raise OperationNameRequired(
                f"The document has {len(facts.operations)} operations; "
                "send 'operationName' to choose the one to run."
            )
        # No operation at all is left to validation, which explains it.
        return facts.operations[0][1] if facts.operations else None
    for operation_name, operation_type in facts.operations:
        if operation_name == name:
            return operation_type
    raise OperationNotFound(f"The document has no operation named '{name}'.")


def _has_nul_in_a_string(document: Node) -> bool:
    stack: list[Node] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, StringValueNode) and "\x00" in node.value:
            return True
        for key in node.keys:
            child = getattr(node, key, None)
            if isinstance(child, Node):
                stack.append(child)
            elif isinstance(child, tuple | list):
                stack.extend(item for item in child if isinstance(item, Node))
    return False
