"""Every mutation of the schema is in the scope table: one missing would be
refused to every token, whatever its scopes."""

from __future__ import annotations

from graphql_api.schema import build_schema
from resolvers.scopes import MUTATION_SCOPES


def test_every_mutation_is_in_the_scope_table() -> None:
    mutation = build_schema()._schema.mutation_type
    assert mutation is not None
    assert sorted(set(mutation.fields) - set(MUTATION_SCOPES)) == []
