"""graphql-core's executor, with one shortcut: a `Tree` whose selection the
tree plan understands is answered in one pass over its rows
(resolvers/tree_plan.py) instead of field by field. Everything else, and
every selection the plan declines, takes the normal path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo
from graphql.pyutils import AwaitableOrValue, Path
from starlette.requests import Request
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.context import Context
from resolvers.tree_plan import TreePlan, compile_tree_plan
from resolvers.tree_types import Tree


class ScriptboxExecutor(StrawberryGraphQLCoreExecutionContext):
    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if isinstance(result, Tree):
            plan = compile_tree_plan(self._collect, return_type, field_details_list)
            if plan is not None:
                return self._answer_tree(plan, result)
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _collect(
        self, object_type: GraphQLObjectType, field_details_list: Any
    ) -> Mapping[str, Sequence[Any]] | None:
        collected = self.collect_subfields(object_type, field_details_list)
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            return None
        return collected.grouped_field_set

    async def _answer_tree(self, plan: TreePlan, tree: Tree) -> dict[str, Any]:
        answer = await plan.run(tree.owner_id, tree.held_folder_id)
        context = self.context_value
        # Only an HTTP response is kept (a socket's context lives on).
        if isinstance(context, Context) and isinstance(context.request, Request):
            context.tree_answers.append((answer.owner_id, answer.revision))
        return answer.data
