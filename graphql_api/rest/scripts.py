"""`/api/v1/scripts-manager/scripts`: create a script (an upload, multipart:
`file`, `display_name`, `description`, `folder_id`, `replace`; or JSON text:
`filename`, `content`, `language`, `description`, `folder_id`, `replace`),
read it and its content, change its name, description or content, delete
it; over the tree service.

A script created at a name that exists answers SCRIPT_EXISTS_REPLACE_REQUIRED
(409) unless `replace` is true, which saves the content as the next version."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import BadUserInput, UnsupportedMediaType
from core.languages import Language
from core.roles import TokenScope
from graphql_api.rest.answers import audited_object, caller_of, handled, services_of
from graphql_api.rest.bodies import flag, json_object, multipart_form, optional_text, text
from graphql_api.rest.shapes import script_json, tree_view
from graphql_api.rest.spec import Operation, RestRoute, answer, errors, json_body, ref
from models.tree import Script
from resolvers.uploads import read_text_upload
from services.access import Caller, get_script

TAG = "Scripts Manager"
NO_FOLDER = frozenset({"", "null", "none"})


def _script_id(request: Request) -> str:
    return text(request.path_params["script_id"], "The script id")


async def _answer(caller: Caller, script: Script, status_code: int = 200) -> Response:
    view = await tree_view(caller, script.owner_id)
    return JSONResponse(script_json(view, script), status_code=status_code)


def _language(value: Any) -> Language | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in {lang.value for lang in Language}:
        raise BadUserInput(f"`language` is one of {sorted(lang.value for lang in Language)}.")
    return Language(value.lower())


def _content(body: dict[str, Any]) -> str:
    content = body.get("content")
    if not isinstance(content, str):
        raise BadUserInput("`content` must be the script's text (a string).")
    return content


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("application/json")


@handled
async def upload_script(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.WRITE, "upload scripts")
    services = services_of(request)
    if _is_json(request):
        body = await json_object(request)
        name = optional_text(body.get("filename"), "`filename`")
        if not name:
            raise BadUserInput("`filename` (the script's name, such as report.py) is required.")
        replace = body.get("replace", False)
        if not isinstance(replace, bool):
            raise BadUserInput("`replace` must be true or false.")
        script = await services.tree.create_script(
            caller,
            name=name,
            folder_id=optional_text(body.get("folder_id"), "`folder_id`"),
            content=_content(body),
            language=_language(body.get("language")),
            description=optional_text(body.get("description"), "`description`"),
            replace=replace,
        )
        audited_object(request, "Script", script.id, script.owner_id)
        return await _answer(caller, script, status_code=201)
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType(
            "Send a script as multipart/form-data (its file) or application/json (its text)."
        )
    form = await multipart_form(request)
    upload = form.required_file()
    if not upload.filename:
        raise BadUserInput("The file part must have a file name (the script's name).")
    name = text(upload.filename, "The file name")
    folder_id = form.get("folder_id")
    content = await read_text_upload(upload, services.settings.max_script_bytes)
    script = await services.tree.create_script(
        caller,
        name=name,
        folder_id=None
        if folder_id is None or folder_id.strip().lower() in NO_FOLDER
        else folder_id,
        content=content,
        language=None,
        description=form.get("description"),
        replace=flag(form.get("replace"), "`replace`", default=False),
    )
    audited_object(request, "Script", script.id, script.owner_id)
    return await _answer(caller, script, status_code=201)


@handled
async def read_script(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.READ, "read scripts")
    return await _answer(caller, await get_script(caller, _script_id(request)))


@handled
async def read_script_content(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.READ, "read scripts")
    script = await get_script(caller, _script_id(request))
    return JSONResponse({"content": await services_of(request).tree.read_content(script)})


@handled
async def replace_script_content(request: Request) -> Response:
    """Save `content` as the script's next version (`language` optional)."""
    caller = await caller_of(request, TokenScope.WRITE, "change scripts")
    audited_object(request, "Script", _script_id(request))
    body = await json_object(request)
    script = await services_of(request).tree.update_script(
        caller,
        _script_id(request),
        name=None,
        content=_content(body),
        language=_language(body.get("language")),
        description=None,
    )
    return await _answer(caller, script)


@handled
async def update_script(request: Request) -> Response:
    """`filename` renames; `description` replaces the description;
    `display_name` is accepted and has no separate value to change."""
    caller = await caller_of(request, TokenScope.WRITE, "change scripts")
    audited_object(request, "Script", _script_id(request))
    body = await json_object(request)
    optional_text(body.get("display_name"), "`display_name`")
    script = await services_of(request).tree.update_script(
        caller,
        _script_id(request),
        name=optional_text(body.get("filename"), "`filename`"),
        content=None,
        language=None,
        description=optional_text(body.get("description"), "`description`"),
    )
    return await _answer(caller, script)


@handled
async def delete_script(request: Request) -> Response:
    caller = await caller_of(request, TokenScope.WRITE, "delete scripts")
    audited_object(request, "Script", _script_id(request))
    await services_of(request).tree.delete_script(caller, _script_id(request))
    return Response(status_code=204)


ROUTES = [
    RestRoute(
        "/api/v1/scripts-manager/scripts",
        {
            "post": Operation(
                upload_script,
                "Create a script: upload its file (its name is the file's name) or send its text",
                TAG,
                {
                    "201": answer("The script.", ref("Script")),
                    **errors(400, 401, 403, 404, 409, 413, 415),
                },
                request_body={
                    "required": True,
                    "content": {
                        "multipart/form-data": {"schema": ref("ScriptUpload")},
                        "application/json": {"schema": ref("ScriptText")},
                    },
                },
            )
        },
    ),
    RestRoute(
        "/api/v1/scripts-manager/scripts/{script_id}",
        {
            "get": Operation(
                read_script,
                "A script",
                TAG,
                {"200": answer("The script.", ref("Script")), **errors(401, 403, 404)},
            ),
            "put": Operation(
                update_script,
                "Rename a script or change its description",
                TAG,
                {"200": answer("The script.", ref("Script")), **errors(400, 401, 403, 404, 409)},
                request_body=json_body(ref("ScriptUpdate")),
            ),
            "delete": Operation(
                delete_script,
                "Delete a script and its versions",
                TAG,
                {"204": answer("Deleted."), **errors(401, 403, 404)},
            ),
        },
    ),
    RestRoute(
        "/api/v1/scripts-manager/scripts/{script_id}/content",
        {
            "get": Operation(
                read_script_content,
                "A script's current content",
                TAG,
                {"200": answer("The content.", ref("ScriptContent")), **errors(401, 403, 404)},
            ),
            "put": Operation(
                replace_script_content,
                "Save new content as the script's next version",
                TAG,
                {
                    "200": answer("The script.", ref("Script")),
                    **errors(400, 401, 403, 404, 413),
                },
                request_body=json_body(ref("ScriptNewContent")),
            ),
        },
    ),
]
