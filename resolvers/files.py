"""Files and artifacts in GraphQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import quote

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core.errors import NotFound
from models.files import Artifact as ArtifactRow
from models.files import StoredFile
from resolvers.context import Context
from resolvers.uploads import uploaded_file

UPLOAD_CHUNK = 256 * 1024


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(UPLOAD_CHUNK):
        yield chunk


def file_download_path(key: str) -> str:
    return "/files/" + quote(key)


@strawberry.type(name="File")
class FileType:
    row: strawberry.Private[StoredFile]

    @strawberry.field
    def key(self) -> str:
        return self.row.key

    @strawberry.field
    def size(self) -> int:
        return int(self.row.size)

    @strawberry.field
    def content_type(self) -> str:
        return self.row.content_type

    @strawberry.field
    def sha256(self) -> str:
        return self.row.sha256

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(
        description="GET it with your Bearer token: a path on this service, or a "
        "presigned URL (valid 15 minutes, no token needed) when storage is S3."
    )
    async def download_url(self, info: Info[Context, None]) -> str:
        presigned = await info.context.services.files.presigned_url(
            self.row.storage_key, self.row.key.rsplit("/", 1)[-1]
        )
        return presigned or file_download_path(self.row.key)


@strawberry.type(name="Artifact")
class ArtifactType:
    row: strawberry.Private[ArtifactRow]

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    def size(self) -> int:
        return int(self.row.size)

    @strawberry.field
    def content_type(self) -> str:
        return self.row.content_type

    @strawberry.field(description="Storage-independent key: '<executionId>/<name>'.")
    def key(self) -> str:
        return f"{self.row.execution_id}/{self.row.name}"

    @strawberry.field
    async def download_url(self, info: Info[Context, None]) -> str:
        presigned = await info.context.services.files.presigned_url(
            self.row.storage_key, self.row.name
        )
        return presigned or f"/artifacts/{self.row.execution_id}/{quote(self.row.name)}"


@strawberry.type
class FileQuery:
    @strawberry.field(description="Your files, by key; `prefix` narrows the list.")
    async def files(self, info: Info[Context, None], prefix: str | None = None) -> list[FileType]:
        caller = await info.context.caller()
        rows = await info.context.services.files.list_files(caller, prefix)
        return [FileType(row=row) for row in rows]

    @strawberry.field
    async def file(self, info: Info[Context, None], key: str) -> FileType | None:
        caller = await info.context.caller()
        try:
            return FileType(row=await info.context.services.files.get(caller, key))
        except NotFound:
            return None


@strawberry.type
class FileMutation:
    @strawberry.mutation(description="Upload a file (GraphQL multipart request).")
    async def upload_file(
        self,
        info: Info[Context, None],
        file: Upload,
        prefix: str | None = None,
        replace: bool = False,
    ) -> FileType:
        caller = await info.context.caller()
        upload = uploaded_file(file)
        row = await info.context.services.files.upload(
            caller,
            upload.filename or "file",
            _chunks(upload),
            upload.content_type,
            prefix,
            replace,
        )
        return FileType(row=row)

    @strawberry.mutation
    async def delete_file(self, info: Info[Context, None], key: str) -> bool:
        caller = await info.context.caller()
        await info.context.services.files.delete(caller, key)
        return True
