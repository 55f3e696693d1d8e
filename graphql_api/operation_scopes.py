"""Tells the resolvers which token scopes the operation being executed needs
(resolvers/scopes.py has the table; `Context.caller` does the refusing)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from resolvers.scopes import operation_needs, scopes_for


def root_fields(selection_set: SelectionSetNode, document: DocumentNode) -> list[str]:
    """The root field names an operation selects, through fragments too."""
    fragments = {
        node.name.value: node
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    names: list[str] = []
    pending = [selection_set]
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.append(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
    return names


class OperationScopes(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = (
            get_operation_ast(document, context.operation_name) if document is not None else None
        )
        if document is None or operation is None:
            yield
            return
        fields = root_fields(operation.selection_set, document)
        needs = scopes_for(operation.operation.value, fields)
        token = operation_needs.set(needs)
        try:
            yield
        finally:
            # A subscription's hook may end in another context than it began.
            with contextlib.suppress(ValueError):
                operation_needs.reset(token)
