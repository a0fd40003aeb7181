"""Response compression (gzip, zstd) negotiated from ``Accept-Encoding``, as plain ASGI.

A body is compressed chunk by chunk as the app sends it, each chunk flushed, so that a
streamed report still reaches the client while it is being read from the database and the
server never holds more than one chunk. A response sent in one piece is compressed whole and
keeps an exact ``Content-Length``. Only text-like types are compressed (an ``.xlsx`` is a
zip archive already); every response of such a type says ``Vary: Accept-Encoding``, whether
or not this one was compressed, so that a cache never hands a compressed body to a client
that did not ask for one.

gzip is zlib-ng's deflate (the ``zlib-ng`` package, with the standard library's ``zlib``
API): at its level 2 a whole report came out in fewer bytes than with the standard library
zlib's level 1, for less of the server's CPU (docs/benchmarks.md, finding 0). zstd's level
1 shrinks report rows about eightfold; it comes from the standard library's
``compression.zstd`` (Python 3.14) or its backport.
"""

from __future__ import annotations

from typing import Final, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from zlib_ng import zlib_ng as zlib

try:
    from compression import zstd  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Python < 3.14
    from backports import zstd  # type: ignore[no-redef,unused-ignore]

GZIP_LEVEL: Final = 2
ZSTD_LEVEL: Final = 1
# Below this a one-piece body is sent as it is: it fits in one TCP segment (Ethernet's
# 1460-byte payload) anyway, and compressing it costs more than sending it.
MINIMUM_SIZE: Final = 1400
# The codings offered, preferred first when a client weighs them equally.
CODINGS: Final = ("zstd", "gzip")
_ALIASES: Final = {"x-gzip": "gzip"}
_COMPRESSIBLE: Final = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/xml",
        "application/javascript",
        "image/svg+xml",
    }
)
_PATHSEND: Final = "http.response.pathsend"
_NO_BODY: Final = frozenset({204, 206, 304})


def negotiate(accept_encoding: str | None) -> tuple[str | None, bool]:
    """The coding to answer with (None: the body as it is) and whether the client refused
    an uncompressed body (``identity;q=0``, or ``*;q=0`` without ``identity``).

    RFC 9110 §12.5.3: a coding the header does not name is acceptable only through ``*``;
    the highest weight wins, ties go to the order of ``CODINGS``; no header means identity.
    """
    if not accept_encoding:
        return None, False
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, rest = item.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        weight = 1.0
        key, _, value = rest.partition("=")
        if key.strip().lower() == "q":
            try:
                weight = min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                weight = 0.0  # a weight nobody can read accepts nothing
        name = _ALIASES.get(name, name)
        weights[name] = max(weight, weights.get(name, 0.0))
    star = weights.get("*")
    best, best_weight = None, 0.0
    for coding in CODINGS:
        weight = weights.get(coding, star if star is not None else 0.0)
        if weight > best_weight:
            best, best_weight = coding, weight
    identity = weights.get("identity", star if star is not None else 1.0)
    return best, identity == 0.0


class Compressor(Protocol):
    """A stream's compressor: each chunk compressed and flushed, then the end."""

    def chunk(self, data: bytes) -> bytes: ...
    def finish(self, data: bytes) -> bytes: ...


class _Gzip:
    def __init__(self) -> None:
        self._z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def chunk(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush()


class _Zstd:
    def __init__(self) -> None:
        self._z = zstd.ZstdCompressor(level=ZSTD_LEVEL)

    def chunk(self, data: bytes) -> bytes:
        return bytes(self._z.compress(data, zstd.ZstdCompressor.FLUSH_BLOCK))

    def finish(self, data: bytes) -> bytes:
        return bytes(self._z.compress(data, zstd.ZstdCompressor.FLUSH_FRAME))


COMPRESSORS: Final[dict[str, type[Compressor]]] = {"gzip": _Gzip, "zstd": _Zstd}


def compress_whole(coding: str, data: bytes) -> bytes:
    """A one-piece body. Its compressor is sized for it: zlib's default state is a few
    hundred kB to allocate and clear, more than compressing a small answer costs."""
    if coding == "zstd":
        return bytes(zstd.compress(data, ZSTD_LEVEL))
    window = min(max(len(data).bit_length(), 9), zlib.MAX_WBITS)  # the body fits in it
    z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + window, max(window - 7, 1))
    return z.compress(data) + z.flush()


def compressible(headers: list[tuple[bytes, bytes]]) -> bool:
    """A text-like type, not already encoded."""
    media = b""
    for key, value in headers:
        lowered = key.lower()
        if lowered == b"content-encoding":
            return False
        if lowered == b"content-type":
            media = value
    kind = media.split(b";", 1)[0].strip().lower().decode("latin-1")
    return kind.startswith("text/") or kind in _COMPRESSIBLE or kind.endswith(("+json", "+xml"))


def add_vary(headers: list[tuple[bytes, bytes]], name: bytes) -> None:
    for i, (key, value) in enumerate(headers):
        if key.lower() == b"vary":
            if name.lower() not in (v.strip().lower() for v in value.split(b",")):
                headers[i] = (key, value + b", " + name)
            return
    headers.append((b"vary", name))


class Compress:
    """Compresses text-like responses for clients that ask (see the module's docstring)."""

    def __init__(self, app: ASGIApp, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accept = None
        for key, value in scope["headers"]:
            if key == b"accept-encoding":
                accept = value.decode("latin-1")
                break
        coding, identity_refused = negotiate(accept)
        extensions = scope.get("extensions") or {}
        if coding is not None and _PATHSEND in extensions:
            # A file sent by the server itself (zero-copy) would bypass us: have it read.
            kept = {k: v for k, v in extensions.items() if k != _PATHSEND}
            scope = {**scope, "extensions": kept}
        responder = _Responder(send, coding, 0 if identity_refused else self.minimum_size)
        await self.app(scope, receive, responder)


class _Responder:
    """The ``send`` of one response: holds the start until the first body shows whether the
    response comes in one piece."""

    def __init__(self, send: Send, coding: str | None, minimum_size: int) -> None:
        self.send = send
        self.coding = coding
        self.minimum_size = minimum_size
        self.start: Message | None = None
        self.compressor: Compressor | None = None
        self.passing = True

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = list(message.get("headers", ()))
            if message["status"] in _NO_BODY or not compressible(headers):
                await self.send(message)
                return
            add_vary(headers, b"Accept-Encoding")
            message = {**message, "headers": headers}
            if self.coding is None:
                await self.send(message)
                return
            self.start, self.passing = message, False
            return
        if self.passing or kind != "http.response.body":
            if self.start is not None:  # a pathsend or trailers after a held start
                start, self.start = self.start, None
                await self.send(start)
            await self.send(message)
            return
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        if self.start is not None:
            start, self.start = self.start, None
            if not more and len(body) < self.minimum_size:
                self.passing = True
                await self.send(start)
                await self.send(message)
                return
            assert self.coding is not None
            if more:
                self.compressor = COMPRESSORS[self.coding]()
                body = self.compressor.chunk(body)
            else:
                body = compress_whole(self.coding, body)
            headers = _encoded(start["headers"], self.coding, None if more else len(body))
            await self.send({**start, "headers": headers})
            await self.send({**message, "body": body})
            return
        assert self.compressor is not None
        if more:
            if body:
                await self.send({**message, "body": self.compressor.chunk(body)})
            return
        await self.send({**message, "body": self.compressor.finish(body)})


def _encoded(
    headers: list[tuple[bytes, bytes]], coding: str, length: int | None
) -> list[tuple[bytes, bytes]]:
    """The start's headers for a compressed body: its coding, its length (None: streamed,
    no length) and a weak ETag (a strong one names the exact bytes of the uncompressed body)."""
    out: list[tuple[bytes, bytes]] = []
    for key, value in headers:
        lowered = key.lower()
        if lowered == b"content-length":
            continue
        weak = lowered == b"etag" and not value.startswith(b"W/")
        out.append((key, b"W/" + value if weak else value))
    out.append((b"content-encoding", coding.encode()))
    if length is not None:
        out.append((b"content-length", str(length).encode()))
    return out
