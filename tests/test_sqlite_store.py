"""What only the embedded store has: WAL reads during an import, the off-loop fallback for a
long first step, the statement time limit, and fair interleaving of concurrent reports."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from agentcdr.errors import ConfigError, DatabaseUnavailable
from agentcdr.records import ReportRequest
from agentcdr.store import open_call_store
from agentcdr.store.sql import sqlite as sqlite_store
from agentcdr.store.sql.sqlite import SQLiteStore
from tests.seed import CALLS, TZ, call, seed, ts

DAY = (ts("2025-05-13 00:00:00"), ts("2025-05-14 00:00:00"))


def request(**kwargs: object) -> ReportRequest:
    return ReportRequest(start_ts=DAY[0], end_ts=DAY[1], tz=TZ, **kwargs)  # type: ignore[arg-type]


async def call_ids(store: SQLiteStore, req: ReportRequest, chunk: int = 1000) -> list[str]:
    stream = await store.report(req, chunk)
    return [row[1] async for batch in stream for row in batch]


def test_reports_keep_answering_while_an_import_writes(sqlite_url: str) -> None:
    seed(sqlite_url)

    async def go() -> None:
        store = SQLiteStore(sqlite_url)
        await store.open()
        reader = SQLiteStore(sqlite_url)
        async with store.writer() as writer:
            await writer.write([call("new", "Example.User1", "2025-05-13 12:00:00", "GALSERVERS")])
            # The import's transaction is open and holds the write lock; a report still
            # answers at once, from the last committed state.
            assert await call_ids(reader, request()) == ["a7", "a2", "a3", "a5", "a4", "a6"]
        assert "new" in await call_ids(reader, request())
        await store.close()
        await reader.close()

    asyncio.run(go())


def test_a_long_first_step_moves_off_the_event_loop(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(sqlite_url)
    monkeypatch.setattr(sqlite_store, "_INLINE_BUDGET", -1.0)  # every first step "too long"
    monkeypatch.setattr(sqlite_store, "_PROGRESS_OPS", 1)
    threads: list[object] = []
    real_to_thread = asyncio.to_thread

    async def spy(*args: object, **kwargs: object) -> object:
        threads.append(args[0])
        return await real_to_thread(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite_store.asyncio, "to_thread", spy)

    async def go() -> list[str]:
        store = SQLiteStore(sqlite_url)
        await store.open()
        try:
            return await call_ids(store, request())
        finally:
            await store.close()

    assert asyncio.run(go()) == ["a7", "a2", "a3", "a5", "a4", "a6"]
    assert len(threads) == 1


def test_statement_time_limit(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(
        sqlite_url,
        calls=[
            call(f"c{i}", "Example.User1", "2025-05-13 12:00:00", "GALSERVERS") for i in range(3000)
        ],
    )
    monkeypatch.setattr(sqlite_store, "_PROGRESS_OPS", 1)

    async def go() -> None:
        store = SQLiteStore(sqlite_url, statement_timeout=0.0)
        await store.open()
        try:
            with pytest.raises(DatabaseUnavailable) as raised:
                await call_ids(store, request())
            assert raised.value.message == "The report query ran past the statement time limit"
        finally:
            await store.close()

    asyncio.run(go())


def test_concurrent_reports_interleave_chunk_by_chunk(sqlite_url: str) -> None:
    seed(
        sqlite_url,
        calls=[
            call(f"c{i:03}", "Example.User1", "2025-05-13 12:00:00", "GALSERVERS")
            for i in range(100)
        ],
    )
    order: list[str] = []

    async def consume(name: str, store: SQLiteStore) -> int:
        stream = await store.report(request(), 10)
        count = 0
        async for batch in stream:
            order.append(name)
            count += len(batch)
        return count

    async def go() -> list[int]:
        store = SQLiteStore(sqlite_url)
        await store.open()
        try:
            return list(await asyncio.gather(consume("a", store), consume("b", store)))
        finally:
            await store.close()

    assert asyncio.run(go()) == [100, 100]
    # Neither report waits for the other to finish: their chunks alternate.
    assert order[:4] in (["a", "b", "a", "b"], ["b", "a", "b", "a"])


def test_schema_newer_than_the_code_is_refused(sqlite_url: str) -> None:
    seed(sqlite_url, calls=CALLS[:1])
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        db.execute("INSERT INTO schema_migrations VALUES (99, 0)")

    async def go() -> None:
        await open_call_store(sqlite_url).open()

    with pytest.raises(ConfigError) as raised:
        asyncio.run(go())
    assert "newer than this agentcdr" in raised.value.message


def test_database_in_wal_mode_with_recorded_migrations(sqlite_url: str) -> None:
    seed(sqlite_url, calls=CALLS[:1])
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT version FROM schema_migrations").fetchall() == [(1,), (2,), (3,)]
        plans = {
            name: " ".join(str(r[3]) for r in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for name, sql in {
                "range": "SELECT * FROM calls WHERE answer_ts >= 1 AND answer_ts < 2 "
                "ORDER BY answer_ts DESC, id DESC",
                "tenant": "SELECT * FROM calls WHERE answer_ts >= 1 AND answer_ts < 2 "
                "AND portfolio = 'GAL' ORDER BY answer_ts DESC, id DESC",
                "user": "SELECT * FROM calls WHERE answer_ts >= 1 AND answer_ts < 2 "
                "AND agent_key = 'x' ORDER BY answer_ts DESC, id DESC",
                "profile": "SELECT * FROM calls WHERE answer_ts >= 1 AND answer_ts < 2 "
                "AND profile = 'SERVERS' ORDER BY answer_ts DESC, id DESC",
            }.items()
        }
    assert "USING INDEX calls_answer (answer_ts>? AND answer_ts<?)" in plans["range"]
    for name in ("tenant", "user", "profile"):
        assert "USING INDEX" in plans[name], plans[name]
        assert "answer_ts>? AND answer_ts<?" in plans[name], plans[name]
        assert "TEMP B-TREE" not in plans[name], plans[name]


def _indexes(url: str) -> list[tuple[str, str]]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls' "
            "ORDER BY name"
        ).fetchall()


def test_first_load_builds_the_indexes_at_the_end_and_a_failure_keeps_them(
    sqlite_url: str,
) -> None:
    asyncio.run(open_call_store(sqlite_url).open())
    schema = _indexes(sqlite_url)
    assert [name for name, _ in schema] == [
        "calls_agent",
        "calls_answer",
        "calls_import",
        "calls_key",
        "calls_portfolio",
        "calls_profile",
        "calls_updated",
    ]

    async def load(fail: bool) -> None:
        store = SQLiteStore(sqlite_url)
        async with store.writer() as writer:
            await writer.write(CALLS)
            if fail:
                raise RuntimeError("the file had a bad line")
        await store.close()

    with pytest.raises(RuntimeError):
        asyncio.run(load(fail=True))
    assert _indexes(sqlite_url) == schema
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT COUNT(*) FROM calls").fetchone() == (0,)
    asyncio.run(load(fail=False))
    assert _indexes(sqlite_url) == schema
    seed_ids = asyncio.run(_ids(sqlite_url))
    assert seed_ids == ["a7", "a2", "a3", "a5", "a4", "a6"]


async def _ids(url: str) -> list[str]:
    store = SQLiteStore(url)
    try:
        return await call_ids(store, request())
    finally:
        await store.close()
