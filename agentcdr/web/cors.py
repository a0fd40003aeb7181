"""Cross-origin requests (CORS) for pages on other origins, as plain ASGI.

The ``cors_origins`` setting lists who may call the API from a browser: ``*`` lets any
origin make requests without browser-managed credentials (``Access-Control-Allow-Origin:
*``), which is all the API needs, since its credentials travel in the body or in an
``Authorization`` header that the page sets itself; a named origin is also allowed
credentialed requests (``credentials: "include"``), answered with that origin and
``Access-Control-Allow-Credentials: true``. Default ``*``: no origin gets credentials.

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered
here, ``204`` with what is allowed, whatever the path. A preflight from an origin that is
not allowed gets the same ``204`` without any ``Access-Control-Allow-*`` header, so the
browser refuses the request; nothing is an error body, because nothing went wrong on the
server. (Starlette's ``CORSMiddleware`` answers preflights ``200 OK`` and refuses origins
with a plain-text ``400``, and cannot allow every origin without credentials and some with.)
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentcdr.web.compression import add_vary

METHODS: Final = b"GET, POST, HEAD"
# Headers a page may set beyond the CORS-safelisted ones: HTTP Basic, a JSON body, and the
# header that Tabulator's and jQuery's ajax loaders always send.
REQUEST_HEADERS: Final = b"Authorization, Content-Type, X-Requested-With"
EXPOSED: Final = b"X-Request-ID, Retry-After, Content-Disposition"
MAX_AGE: Final = b"3600"  # seconds a browser may reuse a preflight's answer


class Cors:
    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.any = "*" in origins
        self.named = frozenset(o for o in origins if o != "*")

    def _allow(self, origin: bytes | None) -> list[tuple[bytes, bytes]]:
        """The headers that let ``origin`` read the answer (none: it may not)."""
        headers: list[tuple[bytes, bytes]] = []
        if self.named and origin is not None and origin.decode("latin-1").lower() in self.named:
            headers += [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
            ]
        elif self.any:
            headers.append((b"access-control-allow-origin", b"*"))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (self.any or self.named):
            await self.app(scope, receive, send)
            return
        origin = preflight = None
        for key, value in scope["headers"]:
            if key == b"origin":
                origin = value
            elif key == b"access-control-request-method":
                preflight = value
        if scope["method"] == "OPTIONS" and origin is not None and preflight is not None:
            await self._preflight(origin, send)
            return
        allow = self._allow(origin)
        if allow:
            allow.append((b"access-control-expose-headers", EXPOSED))

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), *allow]
                if self.named:  # the answer depends on who asks
                    add_vary(headers, b"Origin")
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, origin: bytes, send: Send) -> None:
        headers = self._allow(origin)
        if headers:
            headers += [
                (b"access-control-allow-methods", METHODS),
                (b"access-control-allow-headers", REQUEST_HEADERS),
                (b"access-control-max-age", MAX_AGE),
            ]
        if self.named:
            headers.append((b"vary", b"Origin"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
