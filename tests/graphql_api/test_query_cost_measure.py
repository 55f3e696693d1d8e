"""What graphql_api/query_cost.py counts, document by document, and where
each limit starts to refuse.

The cost check runs before graphql-core's validation, so it is the only thing
between a hostile document and quadratic or exponential work: every counted
node, every expanded fragment and every limit's edge is pinned here.
"""

from __future__ import annotations

import dataclasses

import pytest
from graphql import parse

from graphql_api.query_cost import Expansion, QueryLimits, QueryTooComplex, check, measure

WIDE_OPEN = QueryLimits(max_depth=1000, max_cost=10**13, max_aliases=10**13, max_breadth=10**13)


def cost(source: str) -> Expansion:
    return measure(parse(source))


def test_each_field_costs_one_and_the_operation_one() -> None:
    assert cost("{ a b c }") == Expansion(cost=4, depth=1, breadth=3)


def test_nesting_adds_depth() -> None:
    assert cost("{ a { b { c } } }") == Expansion(cost=4, depth=3, breadth=1)


def test_aliases_are_counted() -> None:
    assert cost("{ x: a y: a a }") == Expansion(cost=4, aliases=2, depth=1, breadth=3)


def test_arguments_cost_one_each_plus_their_value_nodes() -> None:
    # x: 1 + 1; y: 1 + (list, 1, 2, object, 3) = 6; the field 1; the operation 1.
    assert cost("{ a(x: 1, y: [1, 2, {z: 3}]) }").cost == 10


def test_directives_cost_one_each_plus_their_arguments() -> None:
    assert cost("{ a @include(if: true) }").cost == 5
    assert cost("query @a @b { a }").cost == 4


def test_an_inline_fragment_costs_one_and_merges_into_its_parent() -> None:
    assert cost("{ ... on Query { a b } c }") == Expansion(cost=5, depth=1, breadth=3)


def test_a_spread_costs_its_fragment_each_time() -> None:
    # The body once (validation visits it) = 2, each spread 1 + 2, the operation 1.
    assert cost("{ ...F ...F } fragment F on Query { a b }") == Expansion(
        cost=9, depth=1, breadth=6
    )


def test_a_spread_adds_its_fragments_aliases_each_time() -> None:
    assert cost("{ ...F ...F ...F } fragment F on Query { x: a y: a }").aliases == 6


def test_a_spread_deep_in_a_query_adds_the_fragments_depth() -> None:
    assert cost("{ a { ...F } } fragment F on T { b { c } }").depth == 3


def test_a_spread_widens_the_selection_set_it_lands_in() -> None:
    found = cost("{ a { ...F d } } fragment F on T { b c }")
    assert found.breadth == 4  # d, the spread, b and c all merge into a's set


def test_the_widest_selection_set_counts_wherever_it_is() -> None:
    assert cost("{ a { b c d } e }").breadth == 3
    assert cost("{ ...F } fragment F on Q { a { b c d e } }").breadth == 4


def test_unused_fragments_are_counted_once() -> None:
    assert cost("{ a } fragment F on Query { b c d }") == Expansion(cost=5, depth=1, breadth=3)


def test_operations_add_up() -> None:
    assert cost("query A { a { b } } query B { c d e }") == Expansion(cost=7, depth=2, breadth=3)


def test_variables_and_their_defaults_are_counted() -> None:
    # operation 1 + @d 1; $v 1 + default 1; $w 1 + @x 1 + default [1, 2] 3; the field 1.
    source = "query Q($v: Int = 5, $w: [Int] = [1, 2] @x) @d { a }"
    assert cost(source).cost == 10


def test_fragments_are_expanded_in_the_order_they_spread_each_other() -> None:
    # A is defined first but spreads B (inside a field and an inline fragment).
    source = "{ ...A } fragment A on Q { x { ... on T { ...B } } } fragment B on T { y z }"
    # bodies: A alone 3 (B unknown there), B 2; spread of A: 1 + (x, inline, spread 1 + 2).
    assert cost(source) == Expansion(cost=3 + 2 + 6 + 1, depth=2, breadth=3)


def test_fragments_after_one_already_ordered_are_still_measured() -> None:
    # B is ordered while A is; the loop must go on past B to C.
    source = "{ ...C } fragment A on Q { ...B } fragment B on Q { x } fragment C on Q { y z }"
    # bodies A 1, B 1, C 2; the spread of C 1 + 2; the operation 1.
    assert cost(source).cost == 8


def test_limits_cannot_be_changed_once_made() -> None:
    limits = QueryLimits(max_depth=1, max_cost=1, max_aliases=1, max_breadth=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.max_cost = 10**9  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Expansion().cost = 1  # type: ignore[misc]


def test_an_unknown_fragment_costs_only_its_spread() -> None:
    assert cost("{ ...Nope }") == Expansion(cost=2, breadth=1)


def _doubling(levels: int) -> str:
    fragments = ["fragment F0 on Q { a b }"]
    fragments += [f"fragment F{i} on Q {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels)]
    return f"{{ ...F{levels - 1} }} " + " ".join(fragments)


def test_exponential_fragments_are_measured_exactly_then_capped() -> None:
    # Expanded: F0 = 2, Fi = 2 (1 + F(i-1)): F1 = 6, F2 = 14. Each body once
    # as written (its two nodes) = 6; the spread of F2 1 + 14; the operation 1.
    assert cost(_doubling(3)).cost == 6 + 15 + 1
    assert cost(_doubling(80)).cost == 10**12
    refusal = check(parse(_doubling(80)), QueryLimits(100, 1000, 100, 100))
    assert refusal is not None and "too many fields" in refusal.message


@pytest.mark.parametrize(
    "source",
    [
        "{ ...A } fragment A on Q { ...A }",
        "{ ...A } fragment A on Q { ...B } fragment B on Q { x { ...A } }",
        "{ a } fragment A on Q { ... on Q { ...B } } "
        "fragment B on Q { ...C } fragment C on Q { ...A }",
    ],
)
def test_fragment_cycles_are_refused(source: str) -> None:
    with pytest.raises(QueryTooComplex, match="within itself"):
        measure(parse(source))
    refusal = check(parse(source), WIDE_OPEN)
    assert refusal is not None and refusal.extensions == {
        "code": "GRAPHQL_VALIDATION_FAILED",
        "limit": "fragmentCycle",
        "maximum": 0,
    }


def test_a_fragment_spread_twice_without_a_cycle_is_no_cycle() -> None:
    source = "{ ...A ...B } fragment A on Q { ...C } fragment B on Q { ...C } fragment C on Q { x }"
    assert check(parse(source), WIDE_OPEN) is None


def _limits(**given: int) -> QueryLimits:
    base = {"max_depth": 100, "max_cost": 1000, "max_aliases": 100, "max_breadth": 100}
    base.update(given)
    return QueryLimits(**base)


def test_the_depth_limit_is_inclusive() -> None:
    document = parse("{ a { b { c } } }")
    assert check(document, _limits(max_depth=3)) is None
    refusal = check(document, _limits(max_depth=2))
    assert refusal is not None
    assert refusal.message == "The query exceeds maximum operation depth of 2."
    assert refusal.extensions == {
        "code": "GRAPHQL_VALIDATION_FAILED",
        "limit": "depth",
        "maximum": 2,
    }


@pytest.mark.parametrize(
    ("limit", "source", "value", "what"),
    [
        ("cost", "{ a b c }", 4, "fields, arguments and fragments"),
        ("aliases", "{ x: a y: a z: a }", 3, "aliases"),
        ("breadth", "{ a b c d e }", 5, "fields in one selection set"),
    ],
)
def test_each_limit_is_inclusive_and_named(limit: str, source: str, value: int, what: str) -> None:
    document = parse(source)
    assert check(document, _limits(**{f"max_{limit}": value})) is None
    refusal = check(document, _limits(**{f"max_{limit}": value - 1}))
    assert refusal is not None
    assert refusal.message == (
        f"The query is too complex: {value} {what} once fragments are expanded, "
        f"at most {value - 1} allowed."
    )
    assert refusal.extensions == {"code": "QUERY_TOO_COMPLEX", "limit": limit, "maximum": value - 1}
