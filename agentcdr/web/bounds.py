"""The bounds of a request line and its headers: 414 and 431 with the API's error body, for
any path, before anything else reads the request."""

from __future__ import annotations

from typing import Final

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from agentcdr.encoders import MEDIA_TYPES, error_body
from agentcdr.errors import ApiError, HeadersTooLarge, UriTooLong

# What a request line and its headers may hold before anything else runs. The HTTP server
# (granian) has its own, higher limits (a URI of 64 KiB, 100 header fields), which it answers
# with an empty 414 or 431 before the app sees the request; below them, the app answers with
# its error body.
MAX_URI_BYTES: Final = 32_768
MAX_HEADER_FIELDS: Final = 64
MAX_HEADER_BYTES: Final = 32_768


class RequestBounds:
    """414 and 431 with the API's error body, for any path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            error = _out_of_bounds(scope)
            if error is not None:
                body = error_body(error, "json")
                headers = {"X-Request-ID": scope["state"]["request_id"]}
                response = Response(
                    body, status_code=error.status, media_type=MEDIA_TYPES["json"], headers=headers
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _out_of_bounds(scope: Scope) -> ApiError | None:
    if len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) > MAX_URI_BYTES:
        return UriTooLong(MAX_URI_BYTES)
    headers = scope.get("headers", [])
    if len(headers) > MAX_HEADER_FIELDS or (
        sum(len(k) + len(v) for k, v in headers) > MAX_HEADER_BYTES
    ):
        return HeadersTooLarge(MAX_HEADER_FIELDS, MAX_HEADER_BYTES)
    return None
