"""Reading what a REST request sends: a JSON object body, a multipart form,
and text from the URL, each checked by the rules every other door uses
(client_input: no NUL, no lone surrogate, bounded depth and size).

The body's size is capped before this runs (body_limit: the JSON cap for
JSON, the upload cap for multipart); a form may hold a few fields and at
most one file, so a body of many tiny parts cannot cost more than its bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from core.errors import BadUserInput, MalformedMultipart, UnsupportedMediaType
from graphql_api.client_input import check_client_value, load_client_json_async

MAX_FORM_FIELDS = 16
MAX_FORM_FILES = 1
# A text field (a name, a description) is read into memory whole.
MAX_FIELD_BYTES = 64 * 1024

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", ""})


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object ({} for an empty body)."""
    body = await request.body()
    if not body.strip():
        return {}
    payload = await load_client_json_async(body, what="The body")
    if not isinstance(payload, dict):
        raise BadUserInput("The body must be a JSON object.")
    return payload


def text(value: str, what: str) -> str:
    """A path parameter or query value: decoded from the URL, so it may hold
    anything (%00 is a NUL) until checked."""
    check_client_value(value, what=what)
    return value


def optional_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadUserInput(f"{what} must be a string.")
    return text(value, what)


def flag(value: str | None, what: str, default: bool) -> bool:
    """A boolean sent as form or query text ('true', 'false', ...)."""
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise BadUserInput(f"{what} must be true or false.")


@dataclass
class Form:
    fields: dict[str, str]
    file: UploadFile | None

    def get(self, name: str) -> str | None:
        value = self.fields.get(name)
        return None if value is None else text(value, f"`{name}`")

    def required_file(self) -> UploadFile:
        if self.file is None:
            raise BadUserInput("The form must have a file part named `file`.")
        return self.file


async def multipart_form(request: Request) -> Form:
    """The request's multipart form: text fields and the part named `file`."""
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("multipart/form-data"):
        raise UnsupportedMediaType("Send this request as multipart/form-data.")
    try:
        form = await request.form(
            max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
        )
    except (StarletteHTTPException, MultiPartException, ValueError) as exc:
        detail = getattr(exc, "detail", None) or getattr(exc, "message", None) or str(exc)
        raise MalformedMultipart(f"The multipart body cannot be read: {detail}") from None
    fields: dict[str, str] = {}
    upload: UploadFile | None = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name != "file":
                raise BadUserInput(f"Unexpected file part `{name}`; send the file as `file`.")
            upload = value
        else:
            fields[name] = value
    return Form(fields, upload)
