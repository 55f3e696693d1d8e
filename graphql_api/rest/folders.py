"""`/api/v1/scripts-manager/folders`: create, read, rename and delete a
folder (with everything inside), over the tree service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import BadUserInput
from core.roles import TokenScope
from graphql_api.rest.answers import audited_object, caller_of, handled, services_of
from graphql_api.rest.bodies import json_object, optional_text, text
from graphql_api.rest.shapes import folder_json, tree_view
from graphql_api.rest.spec import Operation, RestRoute, answer, errors, json_body, ref
from services.access import get_folder

TAG = "Scripts Manager"


def _folder_id(request: Request) -> str:
    return text(request.path_params["folder_id"], "The folder id")


@handled
async def create_folder(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.WRITE, "create folders")
    body = await json_object(request)
    name = optional_text(body.get("name"), "`name`")
    if name is None:
        raise BadUserInput("`name` is required.")
    parent_id = optional_text(body.get("parent_id"), "`parent_id`")
    folder = await services_of(request).tree.create_folder(caller, name, parent_id)
    audited_object(request, "Folder", folder.id, folder.owner_id)
    view = await tree_view(caller, folder.owner_id)
    return JSONResponse(folder_json(view, folder), status_code=201)


@handled
async def read_folder(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.READ, "read folders")
    folder = await get_folder(caller, _folder_id(request))
    return JSONResponse(folder_json(await tree_view(caller, folder.owner_id), folder))


@handled
async def rename_folder(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.WRITE, "rename folders")
    audited_object(request, "Folder", _folder_id(request))
    body = await json_object(request)
    name = optional_text(body.get("name"), "`name`")
    if name is None:
        folder = await get_folder(caller, _folder_id(request))
    else:
        folder = await services_of(request).tree.rename_folder(caller, _folder_id(request), name)
    return JSONResponse(folder_json(await tree_view(caller, folder.owner_id), folder))


@handled
async def delete_folder(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.WRITE, "delete folders")
    audited_object(request, "Folder", _folder_id(request))
    await services_of(request).tree.delete_folder(caller, _folder_id(request))
    return Response(status_code=204)


ROUTES = [
    RestRoute(
        "/api/v1/scripts-manager/folders",
        {
            "post": Operation(
                create_folder,
                "Create a folder (at the top when parent_id is null)",
                TAG,
                {"201": answer("The folder.", ref("Folder")), **errors(400, 401, 403, 404, 409)},
                request_body=json_body(ref("FolderCreate")),
            )
        },
    ),
    RestRoute(
        "/api/v1/scripts-manager/folders/{folder_id}",
        {
            "get": Operation(
                read_folder,
                "A folder",
                TAG,
                {"200": answer("The folder.", ref("Folder")), **errors(401, 403, 404)},
            ),
            "put": Operation(
                rename_folder,
                "Rename a folder",
                TAG,
                {"200": answer("The folder.", ref("Folder")), **errors(400, 401, 403, 404, 409)},
                request_body=json_body(ref("FolderUpdate")),
            ),
            "delete": Operation(
                delete_folder,
                "Delete a folder and everything inside it",
                TAG,
                {"204": answer("Deleted."), **errors(401, 403, 404)},
            ),
        },
    ),
]
