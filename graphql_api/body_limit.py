"""Caps request body size before anything parses it: a declared length over
the cap is refused at once, and a streamed body is cut off when it passes it.

Routes that answer their own errors in a shape of their own (the REST face)
are not refused here: reading the body raises `BodyTooLarge`, a ClientError,
at once, and the route answers it as it answers every other error."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import ClientErrorCode, PayloadTooLarge
from graphql_api.http_errors import error_body, response_media_type


def _message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


class BodyTooLarge(PayloadTooLarge):
    def __init__(self, limit: int) -> None:
        super().__init__(_message(limit))


def _payload(limit: int) -> bytes:
    return json.dumps(error_body(ClientErrorCode.PAYLOAD_TOO_LARGE, _message(limit))).encode()


class BodySizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_json_bytes: int,
        max_multipart_bytes: int,
        own_errors_under: tuple[str, ...] = (),
        not_under: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_multipart_bytes = max_multipart_bytes
        # Path prefixes whose routes answer a ClientError in their own shape.
        self.own_errors_under = own_errors_under
        # Path prefixes whose routes cap bodies themselves, to limits of their own.
        self.not_under = not_under

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.not_under and scope["path"].startswith(self.not_under)):
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
        over_declared = declared is not None and declared.isdigit() and int(declared) > limit
        if over_declared and not scope["path"].startswith(self.own_errors_under):
            await _refuse(send, limit, media_type)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            if over_declared:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
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
