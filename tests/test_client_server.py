"""The client end to end against agentcdr's own server: in-process (behind a wrapper that
fails requests) and over a socket (behind a proxy that does)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from agentcdr.client import (
    AsyncClient,
    AuthError,
    CdrRow,
    Client,
    InvalidRequest,
    NetworkError,
    PermissionDenied,
    RetryPolicy,
)
from tests.bodies import FAST
from tests.remote import CALLS, FIRST, LAST, FaultyProxy, collect, in_process, live, store_ids
from tests.seed import PASSWORD, TZ, seed

__all__ = ["live"]  # the module-scoped server fixture


@pytest.fixture
def remote_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'remote.db'}"
    seed(url, CALLS, {"api": None, "gal": frozenset({"GAL"})})
    return url


@pytest.mark.parametrize("fmt", ["auto", "json", "xml", "ndjson"])
@pytest.mark.parametrize("page_size", [None, 7])
def test_every_format_against_the_real_server(
    remote_db: str, fmt: str, page_size: int | None
) -> None:
    async def go() -> list[CdrRow]:
        async with await in_process(remote_db, response_format=fmt, page_size=page_size) as client:
            return await collect(client.agent_cdr(from_date=FIRST, to_date=LAST))

    if fmt == "ndjson" and page_size is not None:
        with pytest.raises(ValueError, match="cursor"):
            asyncio.run(go())
        return
    rows = asyncio.run(go())
    newest_first = sorted(enumerate(CALLS), key=lambda ic: (ic[1].answer_ts, ic[0]), reverse=True)
    assert [r.call_id for r in rows] == [c.call_id for _, c in newest_first]
    by_id = {c.call_id: c for c in CALLS}
    for row in rows:
        expected = by_id[row.call_id]  # type: ignore[index]
        assert row.answer_time.replace(tzinfo=TZ).timestamp() == expected.answer_ts
        assert (row.user, row.disposition, row.lead_id) == (
            expected.user,
            expected.disposition,
            expected.lead_id,
        )
        assert row.call_duration_sec == expected.call_duration_sec
        assert row.profile == expected.profile


def test_filters_and_zones_against_the_real_server(remote_db: str) -> None:
    async def go() -> tuple[list[CdrRow], list[CdrRow], list[CdrRow]]:
        async with await in_process(remote_db, chunk_days=2) as client:
            agents = await collect(
                client.agent_cdr(
                    from_date=FIRST,
                    to_date=LAST,
                    users=["agent.1"],
                    tenants=["csc", "GAL"],
                    order="asc",
                )
            )
            utc = await collect(
                client.agent_cdr(from_date="2025-05-12", to_date="2025-05-12", tz="UTC")
            )
            profiles = await collect(
                client.agent_cdr(
                    from_date=FIRST, to_date=LAST, profiles=["collections"], call_types=["DIALER"]
                )
            )
        return agents, utc, profiles

    agents, utc, profiles = asyncio.run(go())
    expected = [c for c in CALLS if c.user == "Agent.1" and c.portfolio in ("CSC", "GAL")]
    assert {r.call_id for r in agents} == {c.call_id for c in expected}
    assert len(agents) == len(expected)
    assert [r.answer_time for r in agents] == sorted(r.answer_time for r in agents)
    start = datetime(2025, 5, 12, tzinfo=ZoneInfo("UTC")).timestamp()
    assert {r.call_id for r in utc} == {
        c.call_id for c in CALLS if start <= c.answer_ts < start + 86400
    }
    assert all(r.answer_time.tzinfo == ZoneInfo("UTC") for r in utc)
    assert {r.call_id for r in profiles} == {
        c.call_id for c in CALLS if c.profile == "COLLECTIONS" and c.call_type == "DIALER"
    }


def test_scope_and_credential_errors_from_the_real_server(remote_db: str) -> None:
    async def go() -> None:
        async with await in_process(remote_db, user="gal") as client:
            with pytest.raises(PermissionDenied) as denied:
                await collect(client.agent_cdr(from_date=FIRST, to_date=FIRST, tenants=["CSC"]))
            assert (denied.value.code, denied.value.status) == ("10001", 403)
            own = await collect(client.agent_cdr(from_date=FIRST, to_date=LAST))
            assert {r.portfolio for r in own} == {"GAL"}
        async with await in_process(remote_db, password="wrong") as client:
            with pytest.raises(AuthError):
                await collect(client.agent_cdr(from_date=FIRST, to_date=FIRST))
        async with await in_process(remote_db) as client:
            with pytest.raises(InvalidRequest) as bad:
                await collect(client.agent_cdr(from_date=FIRST, to_date=FIRST, call_types=["FAX"]))
            assert bad.value.code == "41004"

    asyncio.run(go())


class FlakyApp:
    """The real app behind a wrapper that fails chosen requests: 429 with Retry-After,
    503, or the connection dropped (the transport raises)."""

    def __init__(self, app: Any, faults: list[str]) -> None:
        self.app = app
        self.faults = deque(faults)
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests += 1
        fault = self.faults.popleft() if self.faults else "pass"
        if fault in ("429", "503"):
            code = "10429" if fault == "429" else "10007"
            body = orjson.dumps({"result": "error", "code": code, "message": "try later"})
            headers = [(b"content-type", b"application/json"), (b"retry-after", b"0")]
            await send({"type": "http.response.start", "status": int(fault), "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if fault == "drop":
            raise httpx.ReadError("connection reset by peer")
        await self.app(scope, receive, send)


def test_a_flaky_server_loses_and_duplicates_nothing(remote_db: str) -> None:
    faults = ["429", "pass", "503", "drop", "pass", "drop", "429", "pass", "503"]
    flaky: list[FlakyApp] = []

    def wrap(app: Any) -> FlakyApp:
        flaky.append(FlakyApp(app, list(faults)))
        return flaky[0]

    async def go() -> list[CdrRow]:
        async with await in_process(remote_db, wrap, page_size=20) as client:
            return await collect(client.agent_cdr(from_date=FIRST, to_date=LAST))

    rows = asyncio.run(go())
    ids = [r.call_id for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == store_ids(remote_db)
    assert flaky[0].requests > len(faults)


@pytest.mark.socket
@pytest.mark.parametrize("page_size", [None, 9])
def test_over_a_socket_faults_lose_and_duplicate_nothing(
    live: tuple[str, str], page_size: int | None
) -> None:
    url, db_url = live
    schedule = ["cut:2000", "429", "pass", "cut:4000", "503", "cut:300", "pass", "cut:6000"]
    proxy = FaultyProxy(url, schedule)
    started = time.monotonic()
    try:
        with Client(proxy.url, "api", PASSWORD, retry=FAST, page_size=page_size) as client:
            rows = list(client.agent_cdr(from_date=FIRST, to_date=LAST))
    finally:
        proxy.close()
    ids = [r.call_id for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == store_ids(db_url)
    assert proxy.actions[: len(schedule)] == schedule
    assert time.monotonic() - started >= 2  # Retry-After: 1, twice


@pytest.mark.socket
def test_over_a_socket_the_async_client_streams_every_format(live: tuple[str, str]) -> None:
    url, _db_url = live

    async def go(fmt: str) -> list[CdrRow]:
        async with AsyncClient(url, "api", PASSWORD, response_format=fmt, chunk_days=0) as client:  # type: ignore[arg-type]
            return await collect(
                client.agent_cdr(from_date=FIRST, to_date=LAST, tz="Europe/Berlin")
            )

    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2025, 5, 10, tzinfo=berlin).timestamp()
    end = datetime(2025, 5, 16, tzinfo=berlin).timestamp()
    expected = {c.call_id for c in CALLS if start <= c.answer_ts < end}
    assert expected != {c.call_id for c in CALLS}
    for fmt in ("auto", "json", "xml"):
        rows = asyncio.run(go(fmt))
        assert {r.call_id for r in rows} == expected
        assert len(rows) == len(expected)
        assert all(r.answer_time.tzinfo == ZoneInfo("Europe/Berlin") for r in rows)


@pytest.mark.socket
def test_over_a_socket_retries_run_out(live: tuple[str, str]) -> None:
    url, _ = live
    proxy = FaultyProxy(url, ["cut:500"] * 3)
    try:
        with (
            Client(
                proxy.url,
                "api",
                PASSWORD,
                retry=RetryPolicy(max_retries=2, backoff=0.01),
            ) as client,
            pytest.raises(NetworkError),
        ):
            list(client.agent_cdr(from_date=FIRST, to_date=FIRST))
    finally:
        proxy.close()
