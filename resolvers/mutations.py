"""Mutations of accounts and the tree. Thin: check who asks, call the
domain operation, shape the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core.errors import BadUserInput
from graphql_api.context import Context
from models.tree import Language as LanguageModel
from resolvers.dependencies import dependencies_saved
from resolvers.types import AuthPayload, FolderType, Language, ScriptType, UserType
from resolvers.uploads import one_content, read_text_upload, uploaded_file

if TYPE_CHECKING:
    # A type of the accounts service, named in one annotation only.
    from graphql_api.accounts import IssuedTokens


def _auth_payload(issued: IssuedTokens) -> AuthPayload:
    return AuthPayload(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        user=UserType.from_model(issued.user),
    )


@strawberry.input
class CreateScriptInput:
    name: str = strawberry.field(description="File name, e.g. 'analysis.py'.")
    folder_id: strawberry.ID | None = None
    content: str | None = strawberry.field(default=None, description="Content as text.")
    file: Upload | None = strawberry.field(
        default=None, description="Content as an uploaded file (GraphQL multipart request)."
    )
    language: Language | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Inferred from .py / .sh when absent."
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
    async def register(
        self, info: Info[Context, None], username: str, password: str
    ) -> AuthPayload:
        return _auth_payload(await info.context.services.accounts.register(username, password))

    @strawberry.mutation
    async def login(self, info: Info[Context, None], username: str, password: str) -> AuthPayload:
        # The socket peer: uvicorn runs without proxy headers, so a client
        # cannot choose the address its failures are counted under.
        peer = info.context.request.client
        accounts = info.context.services.accounts
        return _auth_payload(await accounts.login(username, password, peer.host if peer else None))

    @strawberry.mutation
    async def refresh_token(self, info: Info[Context, None], refresh_token: str) -> AuthPayload:
        return _auth_payload(await info.context.services.accounts.refresh(refresh_token))

    @strawberry.mutation
    async def create_folder(
        self, info: Info[Context, None], name: str, parent_id: strawberry.ID | None = None
    ) -> FolderType:
        user = await info.context.require_user()
        return FolderType(row=await info.context.services.tree.create_folder(user, name, parent_id))

    @strawberry.mutation
    async def rename_folder(
        self, info: Info[Context, None], id: strawberry.ID, name: str
    ) -> FolderType:
        user = await info.context.require_user()
        return FolderType(row=await info.context.services.tree.rename_folder(user, id, name))

    @strawberry.mutation(description="Move a folder; parentId null moves it to the top.")
    async def move_folder(
        self, info: Info[Context, None], id: strawberry.ID, parent_id: strawberry.ID | None = None
    ) -> FolderType:
        user = await info.context.require_user()
        return FolderType(row=await info.context.services.tree.move_folder(user, id, parent_id))

    @strawberry.mutation(description="Delete a folder and everything inside it.")
    async def delete_folder(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        user = await info.context.require_user()
        await info.context.services.tree.delete_folder(user, id)
        return True

    @strawberry.mutation
    async def create_script(
        self, info: Info[Context, None], input: CreateScriptInput
    ) -> ScriptType:
        user = await info.context.require_user()
        content = await _content_of(info, input.content, input.file)
        if content is None:
            raise BadUserInput("Give the script's `content` or upload it as `file`.")
        row = await info.context.services.tree.create_script(
            user,
            name=input.name,
            folder_id=input.folder_id,
            content=content,
            language=LanguageModel(input.language) if input.language else None,
            description=input.description,
            replace=input.replace,
            secret_names=input.secrets,
            requirements=input.requirements,
        )
        await dependencies_saved(info, row)
        return ScriptType(row=row)

    @strawberry.mutation(description="Change name, description, language or content.")
    async def update_script(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateScriptInput
    ) -> ScriptType:
        user = await info.context.require_user()
        content = await _content_of(info, input.content, input.file)
        row = await info.context.services.tree.update_script(
            user,
            id,
            name=input.name,
            content=content,
            language=LanguageModel(input.language) if input.language else None,
            description=input.description,
            secret_names=input.secrets,
            requirements=input.requirements,
        )
        await dependencies_saved(info, row)
        return ScriptType(row=row)

    @strawberry.mutation(description="Save an earlier version's content as the next version.")
    async def revert_script(
        self, info: Info[Context, None], id: strawberry.ID, version: int
    ) -> ScriptType:
        user = await info.context.require_user()
        row = await info.context.services.tree.revert_script(user, id, version)
        await dependencies_saved(info, row)
        return ScriptType(row=row)

    @strawberry.mutation(description="Move a script; folderId null moves it to the top.")
    async def move_script(
        self, info: Info[Context, None], id: strawberry.ID, folder_id: strawberry.ID | None = None
    ) -> ScriptType:
        user = await info.context.require_user()
        return ScriptType(row=await info.context.services.tree.move_script(user, id, folder_id))

    @strawberry.mutation
    async def delete_script(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        user = await info.context.require_user()
        await info.context.services.tree.delete_script(user, id)
        return True
