"""Reading files from a GraphQL multipart upload."""

from __future__ import annotations

from typing import Protocol

from starlette.datastructures import UploadFile

from core.errors import BadUserInput, PayloadTooLarge


class ReadableUpload(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


def uploaded_file(value: object) -> UploadFile:
    """The file behind an `Upload` argument. The scalar also accepts a plain
    literal or JSON value (`file: "x"`), which is no file: a client mistake."""
    if not isinstance(value, UploadFile):
        raise BadUserInput(
            "`file` must be a file part of a GraphQL multipart request, mapped to this variable."
        )
    return value


async def read_text_upload(upload: ReadableUpload, max_bytes: int) -> str:
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"Scripts may be at most {max_bytes} bytes.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadUserInput("The uploaded script is not UTF-8 text.") from None


def one_content(content: str | None, upload: object | None) -> None:
    if content is not None and upload is not None:
        raise BadUserInput("Give `content` or `file`, not both.")
