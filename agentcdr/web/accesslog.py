"""Request ids and the access log, as plain ASGI middleware.

The log line carries the path with the query string, but with every credential value
replaced by ``***`` (GET requests carry ``goPass`` in the URL), and never any header.
It is text (``client user "METHOD path" status bytes time rid=…``), or with the
``access_log_format`` setting ``json``, one JSON object a line with the same facts for log
shippers: ``time`` (UTC, ISO 8601), ``client``, ``user``, ``method``, ``path``, ``status``,
``bytes`` (of the body as sent), ``duration_ms`` and ``request_id``. Every text field is
escaped (``escape``; JSON escapes its own): a request cannot write a line end, a quote or a
terminal's escape sequence into the log, so no request forges a line of its own.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentcdr.errors import ConfigError

SECRET_PARAMS: Final = frozenset({"gopass", "log_pass", "pass", "password"})
log = logging.getLogger("agentcdr.access")


def _escaped(char: str) -> str:
    return "\\x22" if char == '"' else char.encode("unicode_escape").decode("ascii")


def escape(field: str) -> str:
    """A field as the log writes it: a double quote, a backslash and every character that
    is not printable (line ends, U+2028, ESC of ANSI sequences) as a backslash escape."""
    if field.isprintable() and '"' not in field and "\\" not in field:
        return field
    return "".join(c if c.isprintable() and c not in '"\\' else _escaped(c) for c in field)


def redact_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    cleaned = [(k, "***" if k.split("[", 1)[0].lower() in SECRET_PARAMS else v) for k, v in pairs]
    return urlencode(cleaned, safe="[]/,:*")


def configure(target: str) -> None:
    """Send the access log to a file, to stderr ('-'), or nowhere ('')."""
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    log.propagate = False
    if not target:
        log.disabled = True
        return
    log.disabled = False
    handler: logging.Handler
    if target == "-":
        handler = logging.StreamHandler(sys.stderr)
    else:
        try:
            handler = logging.FileHandler(target)
        except OSError as exc:
            raise ConfigError(
                f"cannot write the access log {target}: {exc.strerror} (check access_log)"
            ) from None
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


class AccessLog:
    def __init__(self, app: ASGIApp, fmt: str = "text") -> None:
        self.app = app
        self.line = _json_line if fmt == "json" else _text_line

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0
        sent = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if not log.disabled and log.handlers:
                query = redact_query(scope.get("query_string", b"").decode("latin-1"))
                client = scope.get("client") or ("-", 0)
                entry = _Entry(
                    client=str(client[0]),
                    user=scope["state"].get("api_user"),
                    method=scope["method"],
                    path=scope["path"] + (f"?{query}" if query else ""),
                    status=status,
                    sent=sent,
                    ms=(time.perf_counter() - started) * 1000,
                    request_id=request_id,
                )
                log.info("%s", self.line(entry))


@dataclass(frozen=True)
class _Entry:
    client: str
    user: str | None
    method: str
    path: str  # credentials redacted
    status: int
    sent: int
    ms: float
    request_id: str


def _text_line(e: _Entry) -> str:
    client, user, method, path = (escape(f) for f in (e.client, e.user or "-", e.method, e.path))
    return f'{client} {user} "{method} {path}" {e.status} {e.sent} {e.ms:.1f}ms rid={e.request_id}'


def _json_line(e: _Entry) -> str:
    return orjson.dumps(
        {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "client": e.client,
            "user": e.user,
            "method": e.method,
            "path": e.path,
            "status": e.status,
            "bytes": e.sent,
            "duration_ms": round(e.ms, 1),
            "request_id": e.request_id,
        }
    ).decode()
