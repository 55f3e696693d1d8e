"""`/api/v1/files/...`: upload a file (multipart `file`, `?prefix=`), read
its description, download it, delete it; over the files service, so keys,
caps and ownership are the ones `uploadFile` and `/files/{key}` have.

The seed gives every upload a fresh random key; Scriptbox keys a file by
prefix and name (`test/data.txt`), as its GraphQL face does. So that the
seed's caller, which uploads the same name again and again, keeps working,
an upload here replaces the caller's file of that key unless `replace=false`
(then ALREADY_EXISTS, 409)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.roles import TokenScope
from graphql_api.downloads import streamed
from graphql_api.rest.answers import audited_object, caller_of, handled, services_of
from graphql_api.rest.bodies import flag, multipart_form, text
from graphql_api.rest.spec import Operation, RestRoute, answer, errors, ref

TAG = "Files"
CHUNK = 256 * 1024


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


def _key(request: Request) -> str:
    return text(request.path_params["key"], "The file key")


@handled
async def upload_file(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.WRITE, "upload files")
    prefix = request.query_params.get("prefix")
    replace = flag(request.query_params.get("replace"), "`replace`", default=True)
    form = await multipart_form(request)
    upload = form.required_file()
    row = await services_of(request).files.upload(
        caller,
        text(upload.filename or "file", "The file name"),
        _chunks(upload),
        upload.content_type,
        None if prefix is None else text(prefix, "`prefix`"),
        replace,
    )
    audited_object(request, "File", row.key, row.owner_id)
    return JSONResponse({"key": row.key, "size": row.size})


@handled
async def file_info(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.READ, "read files")
    row = await services_of(request).files.get(caller, _key(request))
    return JSONResponse({"key": row.key, "size": row.size, "content_type": row.content_type})


@handled
async def download_file(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.READ, "download")
    services = services_of(request)
    row = await services.files.get(caller, _key(request))
    name = row.key.rsplit("/", 1)[-1]
    return await streamed(services, row.storage_key, name, row.content_type, row.size)


@handled
async def delete_file(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.WRITE, "delete files")
    key = _key(request)
    audited_object(request, "File", key)
    await services_of(request).files.delete(caller, key)
    return JSONResponse({"message": f"File '{key}' deleted."})


ROUTES = [
    RestRoute(
        "/api/v1/files/upload",
        {
            "post": Operation(
                upload_file,
                "Upload a file; answers its key",
                TAG,
                {
                    "200": answer("Stored.", ref("FileUploaded")),
                    **errors(400, 401, 403, 409, 413, 415),
                },
                parameters=[
                    {
                        "name": "prefix",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "Folder-like start of the key, e.g. `test`.",
                    },
                    {
                        "name": "replace",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "boolean", "default": True},
                        "description": "false: refuse (409) when the key exists.",
                    },
                ],
                request_body={
                    "required": True,
                    "content": {"multipart/form-data": {"schema": ref("FileUpload")}},
                },
            )
        },
    ),
    RestRoute(
        "/api/v1/files/{key:path}/info",
        {
            "get": Operation(
                file_info,
                "A file's size and media type",
                TAG,
                {"200": answer("The file.", ref("FileInfo")), **errors(401, 403, 404)},
            )
        },
    ),
    RestRoute(
        "/api/v1/files/{key:path}",
        {
            "get": Operation(
                download_file,
                "Download a file",
                TAG,
                {
                    "200": {
                        "description": "The file's bytes.",
                        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
                    },
                    **errors(401, 403, 404),
                },
            ),
            "delete": Operation(
                delete_file,
                "Delete a file",
                TAG,
                {"200": answer("Deleted.", ref("Message")), **errors(401, 403, 404)},
            ),
        },
    ),
]
