"""``HEAD`` answered exactly like ``GET``, without the body, as plain ASGI.

The app below sees a ``GET``, so every route, the compression and the headers behave as for
one: the same status, the same headers, the ``Content-Length`` of the body that ``GET`` would
send (a one-piece answer is made whole, then dropped). A streamed answer stops after its
first chunk: its headers are out, and the rest of the report is never read.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _Sent(ConnectionAbortedError):
    """Raised into the app's ``send`` once the answer to a HEAD is complete. To the app it
    is what it is: a client that takes no more of the body, an ``OSError`` that every
    streaming layer lets through as a client gone away (not logged as a failed report;
    starlette's streamed responses turn it into ``ClientDisconnect``)."""


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        done = cut = False

        async def headers_only(message: Message) -> None:
            nonlocal done, cut
            if message["type"] == "http.response.start":
                await send(message)
                return
            if done or message["type"] not in ("http.response.body", "http.response.pathsend"):
                return
            done = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            if message.get("more_body", False):
                cut = True
                raise _Sent  # the app would go on streaming a body nobody reads

        try:
            await self.app({**scope, "method": "GET"}, receive, headers_only)
        except (_Sent, ClientDisconnect):
            if not cut:  # the client itself went away
                raise
