"""The Strawberry schema: every Query, Mutation and Subscription root, and
the extensions that bound and shape every request."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.types.execution import ExecutionContext

from graphql_api.error_handling import ClientErrorFormatter, log_errors
from graphql_api.settings import Settings
from resolvers.batches import BatchMutation, BatchQuery, BatchSubscription
from resolvers.executions import ExecutionMutation, ExecutionQuery, ExecutionSubscription
from resolvers.files import FileMutation, FileQuery
from resolvers.mutations import TreeMutation
from resolvers.queries import TreeQuery
from resolvers.schedules import ScheduleMutation, ScheduleQuery
from resolvers.secrets import SecretMutation, SecretQuery
from resolvers.stats import StatsQuery


@strawberry.type
class Query(
    TreeQuery, ExecutionQuery, FileQuery, SecretQuery, ScheduleQuery, BatchQuery, StatsQuery
):
    pass


@strawberry.type
class Mutation(
    TreeMutation, ExecutionMutation, FileMutation, SecretMutation, ScheduleMutation, BatchMutation
):
    pass


@strawberry.type
class Subscription(ExecutionSubscription, BatchSubscription):
    pass


class ScriptboxSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client errors are expected traffic, not log noise; only unexpected
        # ones are logged (with the request id the client is shown).
        log_errors(errors, execution_context)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    limits = settings
    # The rule classes are made once, so a (document, rules) pair is the same
    # key on every request and ValidationCache can answer from its LRU; the
    # documents come from ParserCache (keyed by query text and max_tokens).
    rules: list[Any] = [depth_rule(limits.max_query_depth, None, None), aliases_rule(100)]
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=limits.max_query_tokens),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        ClientErrorFormatter,
    ]
    return ScriptboxSchema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )
