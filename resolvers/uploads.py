"""Reading script content from a GraphQL multipart upload."""

from __future__ import annotations

from starlette.datastructures import UploadFile

from graphql_api.errors import BadUserInput, PayloadTooLarge


async def read_text_upload(upload: UploadFile, max_bytes: int) -> str:
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
