"""Request ids and the access log, as plain ASGI middleware.

The log line carries the path with the query string, but with every credential value
replaced by ``***`` (GET requests carry ``goPass`` in the URL), and never any header. Every
field is escaped (``escape``): a request cannot write a line end, a quote or a terminal's
escape sequence into the log, so no request forges a line of its own.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from typing import Final
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    handler: logging.Handler = (
        logging.StreamHandler(sys.stderr) if target == "-" else logging.FileHandler(target)
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
                path = scope["path"] + (f"?{query}" if query else "")
                client = scope.get("client") or ("-", 0)
                user = scope["state"].get("api_user", "-")
                log.info(
                    '%s %s "%s %s" %d %d %.1fms rid=%s',
                    escape(str(client[0])),
                    escape(user),
                    escape(scope["method"]),
                    escape(path),
                    status,
                    sent,
                    (time.perf_counter() - started) * 1000,
                    request_id,
                )
