"""The JSON Schemas of the REST bodies (OpenAPI 3.1 speaks JSON Schema
2020-12), named once and referred to by the routes' declarations."""

from __future__ import annotations

from typing import Any

from core.languages import Language
from core.retries import MAX_ATTEMPTS, MAX_BACKOFF_SECONDS, RetryOutcome
from graphql_api.rest.spec import ref

STRING = {"type": "string"}
ID = {"type": "string", "description": "A UUID."}
NULLABLE_ID = {"type": ["string", "null"], "description": "A UUID, or null for the top."}
STAMP = {"type": "string", "format": "date-time"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required is not None:
        schema["required"] = required
    return schema


_USER = _object({"id": ID, "login": STRING}, ["id", "login"])

_FOLDER = _object(
    {
        "id": ID,
        "name": STRING,
        "path": STRING,
        "parent_id": NULLABLE_ID,
        "created_by": _USER,
        "created_at": STAMP,
        "updated_at": STAMP,
        "can_edit": {"type": "boolean"},
        "can_delete": {"type": "boolean"},
    },
    ["id", "name", "path", "parent_id", "created_by", "can_edit", "can_delete"],
)

_SCRIPT = _object(
    {
        "id": ID,
        "filename": STRING,
        "logical_path": {
            **STRING,
            "description": "The path POST /api/v1/scripts/{path} runs it by.",
        },
        "display_name": {**STRING, "description": "The script's name (no separate label)."},
        "description": {"type": ["string", "null"]},
        "folder_id": NULLABLE_ID,
        "language": {"enum": ["python", "shell"]},
        "version": {"type": "integer"},
        "created_by": _USER,
        "created_at": STAMP,
        "updated_at": STAMP,
        "can_edit": {"type": "boolean"},
        "can_delete": {"type": "boolean"},
    },
    ["id", "filename", "logical_path", "display_name", "folder_id", "can_edit", "can_delete"],
)

_ARTIFACT = _object(
    {
        "name": STRING,
        "key": {**STRING, "description": "<execution_id>/<name>"},
        "size": {"type": "integer"},
        "content_type": STRING,
        "url": {**STRING, "description": "GET it with the same token."},
    },
    ["name", "key", "size", "url"],
)

SCHEMAS: dict[str, Any] = {
    "Error": _object(
        {
            "detail": _object(
                {
                    "code": {**STRING, "description": "The GraphQL extensions.code."},
                    "error_code": {**STRING, "description": "The same, as the seed names it."},
                    "message": STRING,
                    "details": {"type": "object"},
                },
                ["code", "error_code", "message", "details"],
            )
        },
        ["detail"],
    ),
    "Credentials": _object(
        {
            "login": STRING,
            "password": STRING,
            "invite": {**STRING, "description": "Needed when registration is by invitation."},
        },
        ["login", "password"],
    ),
    "Token": _object(
        {"access_token": STRING, "token_type": {"const": "bearer"}},
        ["access_token", "token_type"],
    ),
    "FolderCreate": _object({"name": STRING, "parent_id": NULLABLE_ID}, ["name"]),
    "FolderUpdate": _object({"name": STRING}),
    "Folder": _FOLDER,
    "Script": _SCRIPT,
    "ScriptUpload": _object(
        {
            "file": {**STRING, "contentMediaType": "application/octet-stream"},
            "display_name": STRING,
            "description": STRING,
            "folder_id": ID,
            "replace": {"type": "boolean", "default": False},
        },
        ["file"],
    ),
    "ScriptText": _object(
        {
            "filename": {**STRING, "description": "The script's name, such as report.py."},
            "content": STRING,
            "language": {
                "enum": [language.value for language in Language],
                "description": "By default, from the name's extension.",
            },
            "description": STRING,
            "folder_id": NULLABLE_ID,
            "replace": {"type": "boolean", "default": False},
        },
        ["filename", "content"],
    ),
    "ScriptNewContent": _object(
        {"content": STRING, "language": {"enum": [language.value for language in Language]}},
        ["content"],
    ),
    "ScriptUpdate": _object({"display_name": STRING, "description": STRING, "filename": STRING}),
    "ScriptContent": _object({"content": STRING}, ["content"]),
    "TreeFolder": _object(
        {
            "folder": ref("Folder"),
            "scripts": {"type": "array", "items": ref("Script")},
            "subfolders": {"type": "array", "items": ref("TreeFolder")},
        },
        ["folder", "scripts", "subfolders"],
    ),
    "Tree": _object(
        {
            "root_scripts": {"type": "array", "items": ref("Script")},
            "root_folders": {"type": "array", "items": ref("TreeFolder")},
        },
        ["root_scripts", "root_folders"],
    ),
    "FileUpload": _object(
        {"file": {**STRING, "contentMediaType": "application/octet-stream"}}, ["file"]
    ),
    "FileUploaded": _object({"key": STRING, "size": {"type": "integer"}}, ["key", "size"]),
    "FileInfo": _object(
        {"key": STRING, "size": {"type": "integer"}, "content_type": STRING},
        ["key", "size", "content_type"],
    ),
    "Message": _object({"message": STRING}, ["message"]),
    "RunRequest": _object(
        {
            "data": {
                "type": "object",
                "description": "The script's input; a string `file_key` is copied to /job/in/.",
            },
            "files": {
                "type": "array",
                "items": STRING,
                "description": "Keys of your files, copied to /job/in/.",
            },
            "target": {
                "type": ["string", "null"],
                "description": "A worker tag: only a worker carrying it runs the script.",
            },
            "retry": {
                "type": ["object", "null"],
                "description": "Try again on these outcomes (runScript's retry policy); "
                "the answer is the last attempt's.",
                "properties": {
                    "max_attempts": {"type": "integer", "minimum": 1, "maximum": MAX_ATTEMPTS},
                    "backoff_seconds": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": MAX_BACKOFF_SECONDS,
                    },
                    "on": {
                        "type": "array",
                        "items": {"enum": [outcome.value for outcome in RetryOutcome]},
                    },
                },
                "required": ["max_attempts"],
                "additionalProperties": False,
            },
        }
    ),
    "Artifact": _ARTIFACT,
    "RunSucceeded": _object(
        {
            "success": {"const": True},
            "result": {},
            "execution_time": {"type": "number"},
            "execution_id": ID,
            "attempt": {"type": "integer", "description": "1, or the retry that succeeded."},
            "artifacts": {"type": "array", "items": ref("Artifact")},
        },
        ["success", "result", "execution_time", "execution_id", "attempt", "artifacts"],
    ),
    "RunFailed": _object(
        {
            "success": {"const": False},
            "error": _object({"code": STRING, "message": STRING}, ["code", "message"]),
            "execution_id": ID,
            "attempt": {"type": "integer"},
            "execution_time": {"type": "number"},
            "status": STRING,
            "stdout": STRING,
            "stderr": STRING,
            "artifacts": {"type": "array", "items": ref("Artifact")},
        },
        ["success", "error"],
    ),
}
