"""The whole tree answered by a compiled plan instead of field by field.

graphql-core completes every field of every node on its own (a resolver
call, a type check, a path, often an awaitable): ~40,000 of them for a
10,000-node tree, which costs far more than reading the rows. Most tree
queries select only plain columns of folders and scripts, nested: for
those the selection is compiled once per request into a list of
(response key, getter) pairs per level and run over the owner's rows
(services/tree_rows.py) in one pass, giving the very dict graphql-core
would have built (same keys, same order, same serialized values).

Anything else under `tree` (arguments, @defer, a field that needs a
resolver such as `owner`, `content` or `lastExecution`) returns None from
`compile_tree_plan`, and the executor completes the tree the normal way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLObjectType, get_named_type

from services.tree_revision import tree_revision
from services.tree_rows import (
    FolderRow,
    ScriptRow,
    TreeRows,
    as_datetime,
    as_language,
    as_secret_names,
    tree_rows,
)

# The grouped field set graphql-core collects for a selection, or None when
# it cannot be compiled (deferred parts, forbidden directives).
Collect = Callable[[GraphQLObjectType, Any], Mapping[str, Sequence[Any]] | None]
Getter = Callable[[Any, TreeRows], Any]


def _script_path(s: ScriptRow, rows: TreeRows) -> str:
    folder_path = rows.path(s.folder_id)
    return f"{folder_path}/{s.name}" if folder_path else s.name


FOLDER_COLUMNS: dict[str, Getter] = {
    "__typename": lambda f, rows: "Folder",
    "id": lambda f, rows: f.id,
    "name": lambda f, rows: f.name,
    "path": lambda f, rows: rows.path(f.id),
    "createdAt": lambda f, rows: as_datetime(f.created_at).isoformat(),
    "updatedAt": lambda f, rows: as_datetime(f.updated_at).isoformat(),
}
SCRIPT_COLUMNS: dict[str, Getter] = {
    "__typename": lambda s, rows: "Script",
    "id": lambda s, rows: s.id,
    "name": lambda s, rows: s.name,
    "path": _script_path,
    "version": lambda s, rows: s.version,
    "description": lambda s, rows: s.description,
    "language": lambda s, rows: as_language(s.language).name,
    "secrets": lambda s, rows: as_secret_names(s.secret_names),
    "requirements": lambda s, rows: s.requirements,
    "createdAt": lambda s, rows: as_datetime(s.created_at).isoformat(),
    "updatedAt": lambda s, rows: as_datetime(s.updated_at).isoformat(),
}


@dataclass(frozen=True)
class NodePlan:
    """What to write for one folder or script: (response key, getter) pairs."""

    fields: tuple[tuple[str, Getter], ...]

    def run(self, row: Any, rows: TreeRows) -> dict[str, Any]:
        return {key: get(row, rows) for key, get in self.fields}


def _list_of(plan: NodePlan, children: Callable[[TreeRows, str | None], list[Any]]) -> Getter:
    def get(row: Any, rows: TreeRows) -> list[dict[str, Any]]:
        return [plan.run(child, rows) for child in children(rows, row.id)]

    return get


def _compile(
    collect: Collect, object_type: GraphQLObjectType, field_details: Any
) -> NodePlan | None:
    grouped = collect(object_type, field_details)
    if grouped is None:
        return None
    columns = FOLDER_COLUMNS if object_type.name == "Folder" else SCRIPT_COLUMNS
    fields: list[tuple[str, Getter]] = []
    for key, details in grouped.items():
        if any(detail.node.arguments for detail in details):
            return None
        name = details[0].node.name.value
        getter = columns.get(name)
        if getter is None and object_type.name == "Folder" and name in ("folders", "scripts"):
            child_type = get_named_type(object_type.fields[name].type)
            assert isinstance(child_type, GraphQLObjectType)
            child = _compile(collect, child_type, details)
            if child is None:
                return None
            getter = _list_of(
                child, TreeRows.children if name == "folders" else TreeRows.scripts_in
            )
        if getter is None:
            return None
        fields.append((key, getter))
    return NodePlan(tuple(fields))


@dataclass(frozen=True)
class TreePlan:
    """The compiled selection of a `Tree`: its folders and scripts lists."""

    fields: tuple[tuple[str, str, NodePlan | None], ...]  # key, field name, plan

    async def run(self, owner_id: str | None, held_folder_id: str | None) -> TreeAnswer:
        """The tree's dict for `owner_id` (None: an empty tree), with the
        revision it was read at; `held_folder_id`: that folder at the top."""
        if owner_id is None:
            return TreeAnswer(None, 0, {key: [] for key, _, _ in self.fields})
        revision = await tree_revision(owner_id)
        rows = await tree_rows(owner_id)
        if held_folder_id is None:
            top_folders: list[FolderRow] = rows.children(None)
            top_scripts: list[ScriptRow] = rows.scripts_in(None)
        else:
            held = rows.folder_by_id.get(held_folder_id)
            top_folders, top_scripts = ([held] if held else []), []
        data: dict[str, Any] = {}
        for key, name, plan in self.fields:
            if name == "__typename":
                data[key] = "Tree"
                continue
            assert plan is not None
            top: list[Any] = top_folders if name == "folders" else top_scripts
            data[key] = [plan.run(row, rows) for row in top]
        return TreeAnswer(owner_id, revision, data)


@dataclass(frozen=True)
class TreeAnswer:
    owner_id: str | None
    revision: int
    data: dict[str, Any]


def compile_tree_plan(
    collect: Collect, tree_type: GraphQLObjectType, field_details: Any
) -> TreePlan | None:
    """The plan for this selection of a `Tree`, or None to complete it normally."""
    grouped = collect(tree_type, field_details)
    if grouped is None:
        return None
    fields: list[tuple[str, str, NodePlan | None]] = []
    for key, details in grouped.items():
        if any(detail.node.arguments for detail in details):
            return None
        name = details[0].node.name.value
        if name == "__typename":
            fields.append((key, name, None))
            continue
        if name not in ("folders", "scripts"):
            return None
        child_type = get_named_type(tree_type.fields[name].type)
        assert isinstance(child_type, GraphQLObjectType)
        plan = _compile(collect, child_type, details)
        if plan is None:
            return None
        fields.append((key, name, plan))
    return TreePlan(tuple(fields))
