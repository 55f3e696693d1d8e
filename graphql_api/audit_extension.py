"""Every mutation, with its outcome, into the audit log.

Two parts. `AuditedField`, put on every root Mutation field when the schema
is built (so a mutation added later is covered without being named), notes
what each root field was called with and what it returned. `AuditTrail`,
a schema extension, does nothing for queries and subscriptions; after a
mutation operation has executed it writes one entry per root field that
ran, with "ok" or the code of the error whose path starts at that field.

What an entry names:
- the actor: the caller the resolvers read (user, and token prefix when it
  came through an API token); for signing in (login, register, refresh),
  the user of the result, or the `username` argument lower-cased when it
  failed (never the password); nobody when no one was signed in;
- the object: an `id` argument (typed by the result's GraphQL type, or the
  noun of the mutation's name: deleteFolder -> Folder); else the result
  when it is an object with an id (creations: createScript -> Script,
  runScript -> Execution); else the first id-like argument (scriptId,
  folderId, groupId, userId, key, a secret's name...), also inside an input;
- the object's owner: the owner of the result's row when it has one; else,
  for folders, scripts, runs, batches and schedules named by id, the owner
  read by id (before a mutation that returns no object, such as a deletion,
  runs; after a failed one); a user acted on (setUserActive...) is its own
  object's owner. Other objects (grants, groups, files, secrets) have no
  owner recorded unless their result row has one: their actor and admins
  read those entries.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode, GraphQLError, InlineFragmentNode, OperationType
from graphql.utilities import get_operation_ast
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.types import Info

from core.errors import ClientErrorCode
from graphql_api.error_handling import client_error_of, is_unexpected
from resolvers.context import Context
from services.audit import AuditRecord, actor_fields, owner_of, refused_token_prefix

OK = "ok"
# Argument names (as resolvers receive them) that name the object acted on,
# in the order they are tried, with the type they name (None: the noun of
# the mutation's name).
ID_ARGUMENTS: tuple[tuple[str, str | None], ...] = (
    ("script_id", "Script"),
    ("folder_id", "Folder"),
    ("parent_id", "Folder"),
    ("execution_id", "Execution"),
    ("batch_id", "Batch"),
    ("schedule_id", "Schedule"),
    ("group_id", "Group"),
    ("grant_id", "Grant"),
    ("token_id", "ApiToken"),
    ("user_id", "User"),
    ("key", None),
)
_NOUN = re.compile(r"^[a-z]+([A-Z]\w*)$")


@dataclass
class FieldNote:
    """One root mutation field as it ran."""

    name: str
    arguments: dict[str, Any]
    returns_object: bool
    result: Any = None
    owner_before: str | None = None
    done: bool = field(default=False)


# The notes of the mutation operation being executed, by response key.
_notes: ContextVar[dict[str, FieldNote] | None] = ContextVar("audit_notes", default=None)


def _is_object_type(annotation: Any) -> bool:
    inner = getattr(annotation, "of_type", annotation)
    return hasattr(inner, "__strawberry_definition__")


class AuditedField(FieldExtension):
    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: Info[Context, None],
        **kwargs: Any,
    ) -> Any:
        notes = _notes.get()
        if notes is None or info.path.prev is not None:
            return await next_(source, info, **kwargs)
        note = FieldNote(info.field_name, kwargs, _is_object_type(info.return_type))
        notes[str(info.path.key)] = note
        if not note.returns_object:
            # Its row may be gone once it ran (a deletion): read the owner first.
            object_type, object_id = target(note)
            note.owner_before = await owner_of(object_type, object_id)
        note.result = await next_(source, info, **kwargs)
        note.done = True
        return note.result


def audit_mutations(mutation: type) -> None:
    """Put AuditedField on every field of the Mutation type (once)."""
    for mutation_field in mutation.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        if not any(isinstance(ext, AuditedField) for ext in mutation_field.extensions):
            mutation_field.extensions.append(AuditedField())


def _noun(action: str) -> str | None:
    """deleteFolder -> Folder, revokeApiToken -> ApiToken, login -> None."""
    match = _NOUN.match(action)
    return match.group(1) if match else None


def _type_name(value: Any) -> str | None:
    definition = getattr(value, "__strawberry_definition__", None)
    return definition.name if definition is not None else None


def _id_of(value: Any) -> str | None:
    row = getattr(value, "row", None)
    for holder in (row, value):
        raw = getattr(holder, "id", None)
        if isinstance(raw, str | int | uuid.UUID):
            return str(raw)
    return None


def _arguments(note: FieldNote) -> dict[str, Any]:
    """The arguments, with the fields of input objects beside them."""
    found = dict(note.arguments)
    for value in note.arguments.values():
        if hasattr(value, "__strawberry_definition__"):
            for name, inner in vars(value).items():
                found.setdefault(name, inner)
    return found


def target(note: FieldNote) -> tuple[str | None, str | None]:
    """The object a mutation acted on: (type, id); see the module's docstring."""
    action = _camel(note.name)
    arguments = _arguments(note)
    result_type = _type_name(note.result)
    if arguments.get("id") is not None:
        return result_type or _noun(action), str(arguments["id"])
    result_id = _id_of(note.result)
    if result_type is not None and result_id is not None:
        return result_type, result_id
    for name, object_type in ID_ARGUMENTS:
        if arguments.get(name) is not None:
            return object_type or _noun(action), str(arguments[name])
    noun = _noun(action)
    if noun is not None and noun.endswith("Secret") and isinstance(arguments.get("name"), str):
        return noun, arguments["name"]
    return None, None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _outcome(error: GraphQLError | None) -> str:
    if error is None:
        return OK
    client_error = client_error_of(error)
    if client_error is not None:
        return client_error.code.value
    if is_unexpected(error):
        return ClientErrorCode.INTERNAL_SERVER_ERROR.value
    code = (error.extensions or {}).get("code")
    return str(code) if code else ClientErrorCode.BAD_USER_INPUT.value


def _signed_in_user(note: FieldNote | None) -> dict[str, str | None]:
    """The actor of a sign-in: the result's user, else the username tried."""
    if note is None:
        return {}
    user = getattr(note.result, "user", None)
    if user is not None and getattr(user, "id", None) is not None:
        return {"actor_id": str(user.id), "actor_name": str(getattr(user, "username", ""))}
    username = note.arguments.get("username")
    if isinstance(username, str):
        return {"actor_name": username.strip().lower()}
    return {}


class AuditTrail(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        operation = (
            get_operation_ast(document, execution.operation_name) if document is not None else None
        )
        if operation is None or operation.operation is not OperationType.MUTATION:
            yield
            return
        notes: dict[str, FieldNote] = {}
        token = _notes.set(notes)
        try:
            yield
        finally:
            _notes.reset(token)
        keys = _root_keys(operation.selection_set.selections)
        for key, note in notes.items():
            keys.setdefault(key, note.name)
        try:
            await self._record(keys, notes)
        except Exception:
            # The mutation's own answer stands, whatever befell its entries.
            context: Context = self.execution_context.context
            context.services.audit.write_failed(f"the audit entries of mutation fields {keys}")

    async def _record(self, keys: dict[str, str], notes: dict[str, FieldNote]) -> None:
        context: Context = self.execution_context.context
        result = self.execution_context.result
        errors: list[GraphQLError] = list(getattr(result, "errors", None) or [])
        first_error: dict[str, GraphQLError] = {}
        for failure in errors:
            if failure.path:
                first_error.setdefault(str(failure.path[0]), failure)
        caller = context.current_caller
        for key, name in keys.items():
            note = notes.get(key)
            error = first_error.get(key)
            if note is None and error is None:
                continue  # never ran: an earlier field's error ended the operation
            object_type, object_id = target(note) if note is not None else (None, None)
            actor = actor_fields(caller) if caller is not None else _signed_in_user(note)
            if caller is None and context.refusal is not None:
                actor = {**actor, "token_prefix": refused_token_prefix(context.refusal)}
            await context.services.audit.record(
                AuditRecord(
                    action=_camel(note.name if note is not None else name),
                    outcome=_outcome(error),
                    object_type=object_type,
                    object_id=object_id,
                    object_owner_id=await _owner(note, object_type, object_id),
                    client_address=context.client_address,
                    **actor,
                )
            )


async def _owner(
    note: FieldNote | None, object_type: str | None, object_id: str | None
) -> str | None:
    if note is None:
        return None
    if object_type == "User" and _is_uuid(object_id):
        # What is done to an account is its holder's to read.
        return object_id
    if note.owner_before is not None:
        return note.owner_before
    row = getattr(note.result, "row", None)
    owner = getattr(row, "owner_id", None)
    if owner is not None:
        return str(owner)
    if not note.done and note.returns_object:
        return await owner_of(object_type, object_id)
    return None


def _is_uuid(value: str | None) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return value is not None


def _root_keys(selections: Any) -> dict[str, str]:
    """Response key -> field name of a mutation's root fields, in order
    (through inline fragments; a named fragment's fields that ran are added
    from the notes)."""
    keys: dict[str, str] = {}
    pending = list(selections)
    while pending:
        selection = pending.pop(0)
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            keys.setdefault(key, selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            pending.extend(selection.selection_set.selections)
    return keys
