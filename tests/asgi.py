"""The app driven message by message, as a server drives it: for what HTTP clients cannot
show, such as how many pieces a body was sent in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette

from agentcdr.settings import Settings
from agentcdr.web.app import create_app


@dataclass
class Exchange:
    status: int
    headers: dict[str, str]
    chunks: list[bytes] = field(default_factory=list)  # the non-empty body messages

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


def make_app(url: str, tmp_path: Path, **settings: object) -> Starlette:
    values: dict[str, object] = {"db": url, "tz": "America/New_York", "access_log": ""}
    values.update(settings)
    return create_app(Settings.load(values, environ={}))


async def exchange(
    app: Starlette,
    method: str,
    path: str,
    *,
    form: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    root_path: str = "",
) -> Exchange:
    """One request; the body of ``form`` urlencoded (POST) or in the query (GET, HEAD).
    ``root_path``: the prefix a proxy serves the app under (``path`` includes it)."""
    query, body = b"", b""
    head = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if form is not None and method == "POST":
        body = urlencode(form, doseq=True).encode()
        head.append((b"content-type", b"application/x-www-form-urlencoded"))
    elif form is not None:
        query = urlencode(form, doseq=True).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": root_path,
        "headers": head,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "extensions": {"http.response.pathsend": {}},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # the client is still there
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    result = Exchange(0, {})

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            for key, value in message.get("headers", ()):
                name = key.decode().lower()
                text = value.decode()
                result.headers[name] = f"{result.headers[name]}, {text}" if name in result.headers else text  # fmt: skip
        elif message["type"] == "http.response.body" and message.get("body"):
            result.chunks.append(bytes(message["body"]))
        elif message["type"] == "http.response.pathsend":
            result.chunks.append(Path(message["path"]).read_bytes())

    await app(scope, receive, send)
    return result


def run(app: Starlette, work: Callable[[], Awaitable[Any]]) -> Any:
    """``work`` with the app started (its store open) and stopped afterwards."""

    async def main() -> Any:
        async with app.router.lifespan_context(app):
            return await work()

    return asyncio.run(main())
