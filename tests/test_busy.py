"""Per-user request rate, reports in flight per user and per worker, and the send time limit:
over a limit the answer is a quick 10429 with Retry-After, and a report whose client stops
reading is cut and gives its place back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette

from agentcdr.settings import Settings
from agentcdr.web.app import create_app
from tests.conftest import API, USERS, ApiHarness
from tests.seed import PASSWORD, seed

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}  # six calls


def params(user: str = "admin", **extra: str) -> dict[str, str]:
    return {
        "goAction": "agent_cdr",
        "goUser": user,
        "goPass": PASSWORD,
        "responsetype": "json",
        **DAY,
        **extra,
    }


def test_requests_over_the_per_minute_limit_are_10429(
    sqlite_url: str, open_api: Callable[..., ApiHarness]
) -> None:
    seed(sqlite_url, users=USERS)
    api = open_api(sqlite_url, user_requests_per_minute=3)
    assert [api.post(**DAY).status_code for _ in range(3)] == [200, 200, 200]
    response = api.post(**DAY)
    assert response.status_code == 429
    body = response.json()
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= 60
    assert body == {
        "result": "error",
        "code": "10429",
        "message": f"Too many requests for this user; retry after {retry} seconds",
    }
    # Another user has a count of its own.
    assert api.post(goUser="galonly", **DAY).status_code == 200


class Held:
    """One report request run straight through the ASGI app by a client that takes the
    status and then reads nothing until ``release`` is set."""

    def __init__(self, app: Starlette, user: str = "admin", **extra: str) -> None:
        self.body = urlencode(params(user, **extra)).encode()
        self.release = asyncio.Event()
        self.messages: list[dict[str, Any]] = []
        self.started = asyncio.Event()
        self.task = asyncio.ensure_future(app(self._scope(), self._receive, self._send))

    def _scope(self) -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": API,
            "raw_path": API.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", str(len(self.body)).encode()),
            ],
            "client": ("203.0.113.7", 50000),
            "server": ("testserver", 80),
        }

    async def _receive(self) -> dict[str, Any]:
        if self.body:
            body, self.body = self.body, b""
            return {"type": "http.request", "body": body, "more_body": False}
        await self.release.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and message.get("more_body"):
            self.started.set()
            await self.release.wait()


def _app(url: str, tmp_path: Path, **settings: object) -> Starlette:
    values: dict[str, object] = {
        "db": url,
        "tz": "America/New_York",
        "access_log": str(tmp_path / "access.log"),
        "chunk_rows": 1,  # six rows: a streamed report
        **settings,
    }
    return create_app(Settings.load(values, environ={}))


async def _post(client: httpx.AsyncClient, user: str = "admin") -> httpx.Response:
    return await client.post(API, data=params(user))


def test_reports_past_the_concurrency_limits_are_refused_at_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    seed(sqlite_url, users=USERS)
    app = _app(sqlite_url, tmp_path, user_concurrent_reports=1, worker_concurrent_reports=2)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            first = Held(app)
            await first.started.wait()
            busy = await _post(client)  # admin's second report
            assert busy.status_code == 429
            assert busy.headers["retry-after"] == "1"
            assert busy.json() == {
                "result": "error",
                "code": "10429",
                "message": "Too many reports running for this user; retry after 1 seconds",
            }
            second = Held(app, "galonly")
            await second.started.wait()
            full = await _post(client, "gal.csc")  # the worker's third report
            assert full.json()["message"] == (
                "Too many reports running on this server; retry after 1 seconds"
            )
            limits = app.state.api.limits
            assert limits.running == 2
            assert (limits.stats["user_busy"], limits.stats["worker_busy"]) == (1, 1)
            # Clients gone: their places come back, and the next report runs.
            first.release.set()
            second.release.set()
            await asyncio.gather(first.task, second.task, return_exceptions=True)
            assert limits.running == 0
            ok = await _post(client)
            assert ok.status_code == 200
            assert ok.json()["data"]["meta"]["row_count"] == 6

    asyncio.run(run())


def test_a_client_that_stops_reading_is_cut_after_send_timeout(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seed(sqlite_url, users=USERS)
    app = _app(sqlite_url, tmp_path, user_concurrent_reports=1, send_timeout=1)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            held = Held(app)  # never released: the client reads nothing
            await held.task  # ends without the last chunk: the server drops the connection
            limits = app.state.api.limits
            assert limits.running == 0  # the place is back, and the store's connection
            assert limits.stats["slow_client_cut"] == 1
            assert held.messages[-1]["more_body"] is True  # never a complete-looking answer

    with caplog.at_level(logging.WARNING, logger="agentcdr.api"):
        asyncio.run(run())
    cut = [r.getMessage() for r in caplog.records if "report cut" in r.getMessage()]
    assert len(cut) == 1
    assert cut[0].startswith("request ")
    assert cut[0].endswith(": the client took no data for 1 s; report cut")


def test_sqlite_keeps_at_most_16_idle_connections_after_many_cut_readers(
    sqlite_url: str, tmp_path: Path
) -> None:
    seed(sqlite_url, users=USERS)
    app = _app(
        sqlite_url,
        tmp_path,
        user_concurrent_reports=30,
        worker_concurrent_reports=30,
        send_timeout=1,
    )

    async def run() -> None:
        async with app.router.lifespan_context(app):
            # 24 reports, 24 connections at once: paged, so that each reads its rows on one
            # connection (a whole report is rendered in slices, each on a connection only for
            # as long as one slice takes).
            held = [Held(app, limit="100000") for _ in range(24)]
            await asyncio.gather(*(h.task for h in held))
            store = app.state.api.store
            assert app.state.api.limits.stats["slow_client_cut"] == 24
            assert len(store._idle) == 16  # the cap; the eight above it were closed

    asyncio.run(run())
