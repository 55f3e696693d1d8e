"""`GET /api/v1/scripts-manager/tree`: the caller's whole tree in one
answer, in the Scripts Manager's shape ({root_scripts, root_folders}, each
folder as {folder, scripts, subfolders})."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import NotFound
from core.roles import TokenScope
from graphql_api.rest.answers import caller_of, handled
from graphql_api.rest.shapes import TreeView, folder_json, script_json, tree_view
from graphql_api.rest.spec import Operation, RestRoute, answer, errors, ref
from models.tree import Folder
from services.access import Caller, get_folder
from services.tree import script_index
from services.tree_index import ScriptIndex

TAG = "Scripts Manager"


def _item(view: TreeView, scripts: ScriptIndex, folder: Folder) -> dict[str, Any]:
    return {
        "folder": folder_json(view, folder),
        "scripts": [script_json(view, s) for s in scripts.in_folder(folder.id)],
        "subfolders": [_item(view, scripts, f) for f in view.folders.children(folder.id)],
    }


async def _held_folder(caller: Caller) -> Folder | None:
    """The folder a token held to one sees at its top (None: it is gone)."""
    assert caller.token is not None and caller.token.folder_id is not None
    try:
        return await get_folder(caller, caller.token.folder_id)
    except NotFound:
        return None


@handled
async def read_tree(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.READ, "read the tree")
    if caller.token is not None and caller.token.folder_id is not None:
        held = await _held_folder(caller)
        if held is None:
            return JSONResponse({"root_scripts": [], "root_folders": []})
        view = await tree_view(caller, held.owner_id)
        scripts = await script_index(held.owner_id)
        return JSONResponse({"root_scripts": [], "root_folders": [_item(view, scripts, held)]})
    owner_id: uuid.UUID = caller.id
    view = await tree_view(caller, owner_id)
    scripts = await script_index(owner_id)
    return JSONResponse(
        {
            "root_scripts": [script_json(view, s) for s in scripts.in_folder(None)],
            "root_folders": [_item(view, scripts, f) for f in view.folders.children(None)],
        }
    )


ROUTES = [
    RestRoute(
        "/api/v1/scripts-manager/tree",
        {
            "get": Operation(
                read_tree,
                "The caller's whole tree of folders and scripts",
                TAG,
                {"200": answer("The tree.", ref("Tree")), **errors(401, 403)},
            )
        },
    )
]
