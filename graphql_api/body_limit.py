"""Caps request body size before anything parses it: a declared length over
the cap is refused at once, and a streamed body is cut off when it passes it."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import ClientErrorCode
from graphql_api.http_errors import error_body, response_media_type


class BodyTooLarge(Exception):
    pass


def _payload(limit: int) -> bytes:
    message = f"The request body is larger than {limit} bytes."
    return json.dumps(error_body(ClientErrorCode.PAYLOAD_TOO_LARGE, message)).encode()


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_json_bytes: int, max_multipart_bytes: int) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_multipart_bytes = max_multipart_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = (
            self.max_multipart_bytes
            if content_type.startswith("multipart/")
            else self.max_json_bytes
        )
        declared = headers.get(b"content-length")
        media_type = response_media_type(headers.get(b"accept", b"").decode("latin-1"))
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit, media_type)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await _refuse(send, limit, media_type)


async def _refuse(send: Send, limit: int, media_type: str) -> None:
    body = _payload(limit)
    await send(
        {
            "type": "http.response.start",
            "status": ClientErrorCode.PAYLOAD_TOO_LARGE.http_status,
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
