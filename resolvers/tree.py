"""The tree in GraphQL: the whole tree in one request, folders and scripts by
id or path, and their changes. Thin: check who asks, call the tree service,
shape the answer."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core.errors import BadUserInput, NotFound
from core.languages import Language as LanguageModel
from core.retries import checked_max_concurrent_runs
from models.tree import Script
from resolvers.context import Context
from resolvers.dependencies import dependencies_saved
from resolvers.tree_types import FolderType, Language, ScriptType, Tree
from resolvers.uploads import one_content, read_text_upload, uploaded_file
from services.access import Caller, get_folder, get_script, tree_owner_id
from services.executions.concurrency import set_max_concurrent_runs
from services.tree import script_at_path


async def _tree_owner(info: Info[Context, None], owner_id: strawberry.ID | None) -> str:
    caller = await info.context.caller()
    return tree_owner_id(caller, None if owner_id is None else str(owner_id))


async def _held_tree(caller: Caller, folder_id: str) -> Tree:
    """The tree a token held to a folder sees: that folder at the top."""
    try:
        held = await get_folder(caller, folder_id)
    except NotFound:
        return Tree(owner_id=None)
    return Tree(owner_id=str(held.owner_id), held=held)


@strawberry.type
class TreeQuery:
    @strawberry.field(
        description="The whole tree in one request. Admins may pass another user's id."
    )
    async def tree(self, info: Info[Context, None], owner_id: strawberry.ID | None = None) -> Tree:
        owner = await _tree_owner(info, owner_id)
        caller = await info.context.caller()
        if caller.token is not None and caller.token.folder_id is not None:
            return await _held_tree(caller, caller.token.folder_id)
        return Tree(owner_id=owner)

    @strawberry.field
    async def folder(self, info: Info[Context, None], id: strawberry.ID) -> FolderType | None:
        caller = await info.context.caller()
        try:
            return FolderType(row=await get_folder(caller, id))
        except NotFound:
            return None

    @strawberry.field(
        description="A script by id, or by its path in the caller's tree "
        "(e.g. 'geology/analysis.py')."
    )
    async def script(
        self,
        info: Info[Context, None],
        id: strawberry.ID | None = None,
        path: str | None = None,
    ) -> ScriptType | None:
        caller = await info.context.caller()
        if (id is None) == (path is None):
            raise BadUserInput("Give exactly one of `id` and `path`.")
        if id is not None:
            try:
                return ScriptType(row=await get_script(caller, id))
            except NotFound:
                return None
        assert path is not None
        try:
            return ScriptType(row=await find_script_by_path(info, caller, path))
        except NotFound:
            return None


async def find_script_by_path(info: Info[Context, None], caller: Caller, path: str) -> Script:
    """The script at `path` in the caller's tree, or NOT_FOUND."""
    # The request's folder index, shared with the rest of the query; loaded
    # only when the path has folders in it.
    index = await info.context.loaders.folders.get(caller.id) if "/" in path.strip("/") else None
    return await script_at_path(caller, path, index)


async def script_argument(
    info: Info[Context, None], caller: Caller, script_id: str | None, path: str | None
) -> Script:
    """The script named by a `scriptId` / `path` argument pair (exactly one given)."""
    if (script_id is None) == (path is None):
        raise BadUserInput("Give exactly one of `scriptId` and `path`.")
    if script_id is not None:
        return await get_script(caller, script_id)
    assert path is not None
    return await find_script_by_path(info, caller, path)


@strawberry.input
class CreateScriptInput:
    name: str = strawberry.field(description="File name, e.g. 'analysis.py'.")
    folder_id: strawberry.ID | None = None
    content: str | None = strawberry.field(default=None, description="Content as text.")
    file: Upload | None = strawberry.field(
        default=None, description="Content as an uploaded file (GraphQL multipart request)."
    )
    language: Language | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Inferred from .py / .sh / .js / .mjs when absent."
    )
    description: str | None = None
    replace: bool = strawberry.field(
        default=False, description="Save as a new version when the path exists."
    )
    secrets: list[str] | None = strawberry.field(
        default=None, description="Names of your secrets the script gets as env variables."
    )
    requirements: str | None = strawberry.field(
        default=None,
        description="Python only: requirements, one per line (also: a '# /// script' block).",
    )
    max_concurrent_runs: int | None = strawberry.field(
        default=None, description="At most this many runs at once; the rest wait queued."
    )


@strawberry.input
class UpdateScriptInput:
    name: str | None = None
    content: str | None = None
    file: Upload | None = None
    language: Language | None = None  # type: ignore[valid-type]
    description: str | None = None
    secrets: list[str] | None = None
    requirements: str | None = strawberry.field(
        default=None, description="Python only: requirements, one per line; '' removes them."
    )
    max_concurrent_runs: int | None = strawberry.field(
        default=strawberry.UNSET, description="null removes the limit."
    )


async def _content_of(
    info: Info[Context, None], content: str | None, upload: Upload | None
) -> str | None:
    one_content(content, upload)
    if upload is None:
        return content
    return await read_text_upload(
        uploaded_file(upload), info.context.services.settings.max_script_bytes
    )


@strawberry.type
class TreeMutation:
    @strawberry.mutation
    async def create_folder(
        self, info: Info[Context, None], name: str, parent_id: strawberry.ID | None = None
    ) -> FolderType:
        caller = await info.context.caller()
        return FolderType(
            row=await info.context.services.tree.create_folder(caller, name, parent_id)
        )

    @strawberry.mutation
    async def rename_folder(
        self, info: Info[Context, None], id: strawberry.ID, name: str
    ) -> FolderType:
        caller = await info.context.caller()
        return FolderType(row=await info.context.services.tree.rename_folder(caller, id, name))

    @strawberry.mutation(description="Move a folder; parentId null moves it to the top.")
    async def move_folder(
        self, info: Info[Context, None], id: strawberry.ID, parent_id: strawberry.ID | None = None
    ) -> FolderType:
        caller = await info.context.caller()
        return FolderType(row=await info.context.services.tree.move_folder(caller, id, parent_id))

    @strawberry.mutation(description="Delete a folder and everything inside it.")
    async def delete_folder(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        caller = await info.context.caller()
        await info.context.services.tree.delete_folder(caller, id)
        return True

    @strawberry.mutation
    async def create_script(
        self, info: Info[Context, None], input: CreateScriptInput
    ) -> ScriptType:
        caller = await info.context.caller()
        content = await _content_of(info, input.content, input.file)
        if content is None:
            raise BadUserInput("Give the script's `content` or upload it as `file`.")
        run_limit = checked_max_concurrent_runs(input.max_concurrent_runs)
        row = await info.context.services.tree.create_script(
            caller,
            name=input.name,
            folder_id=input.folder_id,
            content=content,
            language=LanguageModel(input.language) if input.language else None,
            description=input.description,
            replace=input.replace,
            secret_names=input.secrets,
            requirements=input.requirements,
        )
        if run_limit is not None:
            row = await set_max_concurrent_runs(row, run_limit)
        await dependencies_saved(info, row)
        return ScriptType(row=row)

    @strawberry.mutation(description="Change name, description, language or content.")
    async def update_script(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateScriptInput
    ) -> ScriptType:
        caller = await info.context.caller()
        content = await _content_of(info, input.content, input.file)
        limit_given = input.max_concurrent_runs is not strawberry.UNSET
        run_limit = checked_max_concurrent_runs(input.max_concurrent_runs if limit_given else None)
        row = await info.context.services.tree.update_script(
            caller,
            id,
            name=input.name,
            content=content,
            language=LanguageModel(input.language) if input.language else None,
            description=input.description,
            secret_names=input.secrets,
            requirements=input.requirements,
        )
        if limit_given:
            row = await set_max_concurrent_runs(row, run_limit)
        await dependencies_saved(info, row)
        return ScriptType(row=row)

    @strawberry.mutation(description="Save an earlier version's content as the next version.")
    async def revert_script(
        self, info: Info[Context, None], id: strawberry.ID, version: int
    ) -> ScriptType:
        caller = await info.context.caller()
        row = await info.context.services.tree.revert_script(caller, id, version)
        await dependencies_saved(info, row)
        return ScriptType(row=row)

    @strawberry.mutation(description="Move a script; folderId null moves it to the top.")
    async def move_script(
        self, info: Info[Context, None], id: strawberry.ID, folder_id: strawberry.ID | None = None
    ) -> ScriptType:
        caller = await info.context.caller()
        return ScriptType(row=await info.context.services.tree.move_script(caller, id, folder_id))

    @strawberry.mutation
    async def delete_script(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        caller = await info.context.caller()
        await info.context.services.tree.delete_script(caller, id)
        return True
