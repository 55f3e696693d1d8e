"""The Strawberry schema: every Query, Mutation and Subscription root, and
the extensions that bound and shape every request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.types.execution import ExecutionContext

from core.settings import Settings
from graphql_api.audit_extension import AuditTrail, audit_mutations
from graphql_api.error_handling import ClientErrorFormatter, log_errors
from graphql_api.executor import ScriptboxExecutor
from graphql_api.observe_schema import observing_extensions
from graphql_api.operation_scopes import OperationScopes
from graphql_api.query_cost import QueryLimits, check
from resolvers.account_admin import AccountAdminMutation, AccountAdminQuery
from resolvers.accounts import AccountMutation, AccountQuery
from resolvers.api_tokens import ApiTokenMutation, ApiTokenQuery
from resolvers.audit import AuditQuery
from resolvers.batches import BatchMutation, BatchQuery, BatchSubscription
from resolvers.executions import ExecutionMutation, ExecutionQuery, ExecutionSubscription
from resolvers.files import FileMutation, FileQuery
from resolvers.groups import GroupMutation, GroupQuery
from resolvers.schedules import ScheduleMutation, ScheduleQuery
from resolvers.secrets import SecretMutation, SecretQuery
from resolvers.services import ServiceMutation, ServiceQuery, ServiceSubscription
from resolvers.sharing import SharingMutation, SharingQuery
from resolvers.stats import StatsQuery
from resolvers.tree import TreeMutation, TreeQuery
from resolvers.workers import WorkerMutation, WorkerQuery


@strawberry.type
class Query(
    AccountQuery,
    AccountAdminQuery,
    ApiTokenQuery,
    TreeQuery,
    ExecutionQuery,
    FileQuery,
    SecretQuery,
    ScheduleQuery,
    BatchQuery,
    StatsQuery,
    AuditQuery,
    GroupQuery,
    SharingQuery,
    WorkerQuery,
    ServiceQuery,
):
    pass


@strawberry.type
class Mutation(
    AccountMutation,
    AccountAdminMutation,
    ApiTokenMutation,
    TreeMutation,
    ExecutionMutation,
    FileMutation,
    SecretMutation,
    ScheduleMutation,
    BatchMutation,
    GroupMutation,
    SharingMutation,
    WorkerMutation,
    ServiceMutation,
):
    pass


@strawberry.type
class Subscription(ExecutionSubscription, BatchSubscription, ServiceSubscription):
    pass


class ScriptboxSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client errors are expected traffic, not log noise; only unexpected
        # ones are logged (with the request id the client is shown).
        log_errors(errors, execution_context)


class ParseLimits(SchemaExtension):
    """Parsing is linear in the tokens and the characters of the text; both are
    capped so the parser stops early on a huge document (comments count as
    tokens). ParserCache keys its entries by these options too."""

    def __init__(self, max_tokens: int, max_length: int) -> None:
        self.max_tokens = max_tokens
        self.max_length = max_length

    def on_operation(self) -> Iterator[None]:
        options: dict[str, Any] = self.execution_context.parse_options  # type: ignore[assignment]
        options["max_tokens"] = self.max_tokens
        options["max_source_length"] = self.max_length
        yield


class CostCheckedValidation(ValidationCache):
    """The linear cost check first; only a document within the limits reaches
    graphql-core's rules (one of which is quadratic) and the validation LRU."""

    def __init__(self, limits: QueryLimits, maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        refusal = check(document, self.limits) if document is not None else None
        if refusal is None:
            yield from super().on_validate()
            return
        self.execution_context.pre_execution_errors = [refusal]
        yield


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_depth=settings.max_query_depth,
        max_cost=settings.max_query_cost,
        max_aliases=settings.max_query_aliases,
        max_breadth=settings.max_query_breadth,
    )


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    limits = query_limits(settings)
    max_tokens, max_length = settings.max_query_tokens, settings.max_query_length
    # The default rules tuple is the same object on every request, so a
    # (document, rules) pair is one key and the validation LRU answers from
    # cache; the documents come from ParserCache (keyed by text and options).
    extensions: list[Any] = [
        lambda: ParseLimits(max_tokens, max_length),
        lambda: ParserCache(maxsize=256),
        lambda: CostCheckedValidation(limits, maxsize=256),
        ClientErrorFormatter,
        OperationScopes,
        AuditTrail,
        *observing_extensions(),
    ]
    audit_mutations(Mutation)
    return ScriptboxSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=ScriptboxExecutor,
    )
