"""A remote agentcdr for the client and fetch tests: generated calls, the ids a store holds, a
client of the app in-process, a seeded server over a real socket, and a TCP proxy in front of
it that fails requests."""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import suppress
from datetime import date, timedelta
from typing import Any

import httpx
import orjson
import pytest

from agentcdr.client import AsyncClient, CdrRow
from agentcdr.records import CallRecord
from tests.bodies import FAST
from tests.livserver import serve
from tests.seed import PASSWORD, call, seed


def generated_calls(
    days: int = 6, per_day: int = 25, start: date = date(2025, 5, 10)
) -> list[CallRecord]:
    """Calls spread over ``days`` New York days, several agents and tenants."""
    campaigns = ["GALSERVERS", "CSCCOLLECTIONS", "BRKFRESHLEADS"]
    calls = []
    for d in range(days):
        day = start + timedelta(days=d)
        for n in range(per_day):
            stamp = f"{day.isoformat()} {n % 24:02d}:{(n * 7) % 60:02d}:{n % 60:02d}"
            calls.append(
                call(
                    f"g{d:02d}{n:03d}",
                    f"Agent.{n % 4}",
                    stamp,
                    campaigns[n % 3],
                    seconds=n * 13,
                    lead_id=None if n % 5 == 0 else 100000 + n,
                    disposition="VM / NML" if n % 2 else 'Said "no" & <hung up>',
                    call_type="DIALER" if n % 3 else "MANUAL",
                )
            )
    return calls


CALLS = generated_calls()
FIRST, LAST = "2025-05-10", "2025-05-15"


def store_ids(db_url: str, where: str = "1=1") -> set[str]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as db:
        return {r[0] for r in db.execute(f"SELECT call_id FROM calls WHERE {where}")}


async def in_process(
    db_url: str,
    app_wrapper: Callable[[Any], Any] | None = None,
    user: str = "api",
    password: str = PASSWORD,
    server: dict[str, Any] | None = None,
    **options: Any,
) -> AsyncClient:
    """An ``AsyncClient`` talking to the real app in-process; ``server``: more settings."""
    from agentcdr.settings import Settings
    from agentcdr.store import open_call_store
    from agentcdr.web.app import create_app

    values = {"db": db_url, "tz": "America/New_York", "access_log": "", **(server or {})}
    settings = Settings.load(values)
    store = open_call_store(db_url, settings)
    await store.open()
    app = create_app(settings, store)
    if app_wrapper is not None:
        app = app_wrapper(app)
    options.setdefault("retry", FAST)
    return AsyncClient(
        "http://remote.test", user, password, transport=httpx.ASGITransport(app), **options
    )


async def collect(rows: AsyncIterator[CdrRow]) -> list[CdrRow]:
    return [row async for row in rows]


def _read_head(conn: socket.socket) -> tuple[bytes, bytes]:
    """A request's head (without the blank line) and what came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _read_request(conn: socket.socket) -> None:
    head, body = _read_head(conn)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def _pipe(source: socket.socket, target: socket.socket, limit: int | None) -> None:
    sent = 0
    with suppress(OSError):
        while True:
            data = source.recv(65536)
            if not data:
                break
            if limit is not None and sent + len(data) >= limit:
                target.sendall(data[: limit - sent])
                break
            target.sendall(data)
            sent += len(data)
    for sock in (target, source) if limit is not None else (target,):
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR if limit is not None else socket.SHUT_WR)


class FaultyProxy:
    """A TCP proxy in front of a real server. Each new connection takes the next action of
    ``schedule``: ``pass``, ``429`` or ``503`` (answered by the proxy), or ``cut:N`` (the
    response is cut off after N bytes and the connection closed)."""

    def __init__(self, upstream: str, schedule: list[str]) -> None:
        self.upstream = ("127.0.0.1", int(upstream.rsplit(":", 1)[1]))
        self.schedule = deque(schedule)
        self.actions: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            action = self.schedule.popleft() if self.schedule else "pass"
            self.actions.append(action)
            threading.Thread(target=self._handle, args=(conn, action), daemon=True).start()

    def _handle(self, conn: socket.socket, action: str) -> None:
        with conn:
            if action in ("429", "503"):
                _read_request(conn)
                code = "10429" if action == "429" else "10007"
                body = orjson.dumps({"result": "error", "code": code, "message": "try later"})
                reason = "Too Many Requests" if action == "429" else "Service Unavailable"
                conn.sendall(
                    f"HTTP/1.1 {action} {reason}\r\nContent-Type: application/json\r\n"
                    f"Retry-After: 1\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                return
            limit = int(action.split(":")[1]) if action.startswith("cut:") else None
            head, rest = _read_head(conn)
            # One request per connection even for keep-alive clients, so that the schedule
            # applies request by request: the server answers "Connection: close". The answer
            # is asked for uncompressed, so that N counts the bytes of the report itself.
            lines = [
                line
                for line in head.split(b"\r\n")
                if not line.lower().startswith((b"connection:", b"accept-encoding:"))
            ]
            with socket.create_connection(self.upstream) as upstream:
                upstream.sendall(b"\r\n".join([*lines, b"Connection: close", b"", b""]) + rest)
                forward = threading.Thread(target=_pipe, args=(conn, upstream, None), daemon=True)
                forward.start()
                _pipe(upstream, conn, limit)
                forward.join(5)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A seeded server over a real socket: (base URL, database URL)."""
    folder = tmp_path_factory.mktemp("live")
    db_url = f"sqlite:///{folder / 'remote.db'}"
    seed(db_url, CALLS, {"api": None})
    with serve(db_url, folder) as url:
        yield url, db_url
