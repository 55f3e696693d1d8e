"""What a GraphQL document will cost, measured before graphql-core validates it.

graphql-core's validation is linear in the document's size for most rules but
costs ~50 µs per node on a loaded machine, and OverlappingFieldsCanBeMerged is
quadratic in the number of fields and fragment spreads one selection set
holds once fragments are expanded. Limits that walk every expansion of every
fragment (as Strawberry's depth and alias limiters do) are themselves
exponential: three spreads per level, twelve levels, a 2.7 KB document.

So this check walks each fragment body once, remembers what it expands to
(fields, depth, aliases, the widest selection set) and adds those numbers up at
each spread. Its time is linear in the document whatever the fragments do, and
a document over a limit is refused before any other rule or resolver runs.
Fragment cycles are refused here too, since expanding one never ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
)

from core.errors import ClientErrorCode

# Sums are capped so a fragment that expands a trillion times stays a small int.
_CAP = 10**12


@dataclass(frozen=True)
class QueryLimits:
    """The most one document may ask for, fragments expanded."""

    max_depth: int
    max_cost: int
    max_aliases: int
    max_breadth: int


@dataclass(frozen=True)
class Expansion:
    """What a selection set (or a whole document) expands to."""

    # Every field, argument, literal value, directive, fragment spread and
    # inline fragment, counted each time fragment expansion reaches it.
    cost: int = 0
    aliases: int = 0
    # Nested field levels: `{ a { b } }` is 2.
    depth: int = 0
    # Fields and spreads of the widest selection set, inline fragments and
    # spreads merged into the set they sit in (what field merging compares).
    breadth: int = 0
    # Fields and spreads at the top level of this set, merged the same way.
    top_breadth: int = 0


class QueryTooComplex(GraphQLError):
    def __init__(self, message: str, code: ClientErrorCode, limit: str, maximum: int) -> None:
        super().__init__(
            message, extensions={"code": code.value, "limit": limit, "maximum": maximum}
        )


def _add(a: int, b: int) -> int:
    return min(a + b, _CAP)


def _value_nodes(value: ValueNode) -> int:
    count = 0
    stack = [value]
    while stack:
        node = stack.pop()
        count += 1
        if isinstance(node, ListValueNode):
            stack.extend(node.values)
        elif isinstance(node, ObjectValueNode):
            stack.extend(field.value for field in node.fields)
    return count


def _arguments_cost(arguments: Iterable[ArgumentNode]) -> int:
    return sum(1 + _value_nodes(argument.value) for argument in arguments)


def _directives_cost(directives: Iterable[DirectiveNode]) -> int:
    return sum(1 + _arguments_cost(directive.arguments or ()) for directive in directives)


def _spread_names(selection_set: SelectionSetNode) -> set[str]:
    names: set[str] = set()
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.add(selection.name.value)
            elif (
                isinstance(selection, FieldNode | InlineFragmentNode)
                and selection.selection_set is not None
            ):
                stack.append(selection.selection_set)
    return names


def _expand(selection_set: SelectionSetNode, fragments: dict[str, Expansion]) -> Expansion:
    """One pass over the set's own nodes; spreads add their fragment's totals.
    A spread of an unknown fragment adds only itself (validation names it)."""
    cost = aliases = depth = breadth = 0
    widths = [0]  # one entry per selection set whose fields get merged
    # (selection set, level of its fields, index of the set it merges into)
    stack: list[tuple[SelectionSetNode, int, int]] = [(selection_set, 1, 0)]
    while stack:
        current, level, scope = stack.pop()
        for selection in current.selections:
            own = 1 + _directives_cost(selection.directives or ())
            if isinstance(selection, FieldNode):
                cost = _add(cost, own + _arguments_cost(selection.arguments or ()))
                aliases += int(selection.alias is not None)
                depth = max(depth, level)
                widths[scope] += 1
                if selection.selection_set is not None:
                    widths.append(0)
                    stack.append((selection.selection_set, level + 1, len(widths) - 1))
            elif isinstance(selection, InlineFragmentNode):
                cost = _add(cost, own)
                stack.append((selection.selection_set, level, scope))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value, Expansion())
                cost = _add(cost, _add(own, fragment.cost))
                aliases = _add(aliases, fragment.aliases)
                depth = max(depth, level - 1 + fragment.depth)
                breadth = max(breadth, fragment.breadth)
                widths[scope] = _add(widths[scope], 1 + fragment.top_breadth)
    return Expansion(
        cost=cost,
        aliases=aliases,
        depth=depth,
        breadth=max(breadth, *widths),
        top_breadth=widths[0],
    )


def _dependency_order(bodies: dict[str, FragmentDefinitionNode]) -> list[str]:
    """Fragments with the ones they spread first; a cycle is refused."""
    spreads = {name: _spread_names(body.selection_set) for name, body in bodies.items()}
    order: list[str] = []
    done: set[str] = set()
    for root in bodies:
        if root in done:
            continue
        on_path = {root}
        path: list[tuple[str, list[str]]] = [(root, sorted(spreads[root]))]
        while path:
            name, pending = path[-1]
            if not pending:
                path.pop()
                on_path.discard(name)
                done.add(name)
                order.append(name)
                continue
            child = pending.pop()
            if child in on_path:
                raise QueryTooComplex(
                    f"Cannot spread fragment '{child}' within itself.",
                    code=ClientErrorCode.GRAPHQL_VALIDATION_FAILED,
                    limit="fragmentCycle",
                    maximum=0,
                )
            if child in done or child not in bodies:
                continue
            on_path.add(child)
            path.append((child, sorted(spreads[child])))
    return order


def measure(document: DocumentNode) -> Expansion:
    """The whole document's expansion: every operation's, plus each fragment
    body once (validation visits those even where nothing spreads them)."""
    # The last definition of a name wins, as in graphql-core's validation.
    bodies = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    fragments: dict[str, Expansion] = {}
    total = Expansion()
    for name in _dependency_order(bodies):
        fragments[name] = _expand(bodies[name].selection_set, fragments)
        # Each body's own nodes, not its expansion (the operations count that).
        own = _expand(bodies[name].selection_set, {})
        total = _combine(total, Expansion(cost=own.cost, breadth=fragments[name].breadth))
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            expansion = _expand(definition.selection_set, fragments)
            header = 1 + _directives_cost(definition.directives or ())
            for variable in definition.variable_definitions or ():
                header += 1 + _directives_cost(variable.directives or ())
                if variable.default_value is not None:
                    header += _value_nodes(variable.default_value)
            total = _combine(total, expansion, header)
    return total


def _combine(total: Expansion, part: Expansion, extra_cost: int = 0) -> Expansion:
    return Expansion(
        cost=_add(total.cost, _add(part.cost, extra_cost)),
        aliases=_add(total.aliases, part.aliases),
        depth=max(total.depth, part.depth),
        breadth=max(total.breadth, part.breadth),
    )


def check(document: DocumentNode, limits: QueryLimits) -> GraphQLError | None:
    """The reason to refuse `document` before validating it, or None."""
    try:
        expansion = measure(document)
    except QueryTooComplex as refusal:
        return refusal
    if expansion.depth > limits.max_depth:
        # Same wording and code as the depth limit this replaces.
        return QueryTooComplex(
            f"The query exceeds maximum operation depth of {limits.max_depth}.",
            code=ClientErrorCode.GRAPHQL_VALIDATION_FAILED,
            limit="depth",
            maximum=limits.max_depth,
        )
    for limit, value, maximum, what in (
        ("cost", expansion.cost, limits.max_cost, "fields, arguments and fragments"),
        ("aliases", expansion.aliases, limits.max_aliases, "aliases"),
        ("breadth", expansion.breadth, limits.max_breadth, "fields in one selection set"),
    ):
        if value > maximum:
            return QueryTooComplex(
                f"The query is too complex: {value if value < _CAP else 'too many'} {what} "
                f"once fragments are expanded, at most {maximum} allowed.",
                code=ClientErrorCode.QUERY_TOO_COMPLEX,
                limit=limit,
                maximum=maximum,
            )
    return None
