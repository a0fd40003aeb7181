"""Imports into an empty table (a first load) and large imports, on every store.

A first load drops the table's indexes and builds them once the rows are in, and inserts
rows without the upsert; a large file is read by a child process. Whatever the path, an
import stays what a user relies on: the file commits whole or not at all (indexes
included), counts are exact, a call the file holds twice is stored once with its last
values, and importing again adds nothing.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agentcdr import demo
from agentcdr.errors import AgentCDRError, DataError
from agentcdr.ingest import ImportResult, import_file
from agentcdr.ingest.pipeline import ReadSpec, batch_source
from agentcdr.records import CallRecord
from agentcdr.store import CallStore, open_call_store
from agentcdr.store.sql.schema import CALL_INDEXES
from agentcdr.store.sql.sqlite import SQLiteStore
from tests.test_store import report_rows

UTC = ZoneInfo("UTC")
# A day of demo calls: more rows than a batch of the reader (20,000) and of every store's
# statements (PostgreSQL 20,000, MariaDB 10,000).
BIG = 25_001
OTHER = CallRecord(
    "other-1", "Some.One", 1_600_000_000, "RPC", "5550000000", "", "MANUAL", 5, None, "AGENT",
    "GAL", "GALSERVERS", "SERVERS",
)  # fmt: skip


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[CallStore]:
    store = open_call_store(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def run(url: str, body: Callable[[CallStore], Any]) -> Any:
    async def main() -> Any:
        async with opened(url) as store:
            return await body(store)

    return asyncio.run(main())


async def index_names(store: CallStore) -> set[str]:
    """The indexes of ``calls`` (the primary key's too, where the database names one)."""
    if isinstance(store, SQLiteStore):
        with store.connection() as db:
            rows = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls'"
            ).fetchall()
    elif store.url.startswith("postgres"):
        rows = await store.fetch_rows(  # type: ignore[attr-defined]
            "SELECT indexname FROM pg_indexes WHERE tablename = 'calls'"
        )
    else:
        rows = await store.fetch_rows(  # type: ignore[attr-defined]
            "SELECT DISTINCT index_name FROM information_schema.statistics "
            "WHERE table_schema = DATABASE() AND table_name = 'calls'"
        )
    return {row[0] for row in rows}


async def state(store: CallStore) -> tuple[int, set[str], int]:
    """Calls, indexes and entries in the record of imports."""
    assert store.imports is not None
    return await store.count_calls(), await index_names(store), len(await store.imports.list())


def big_csv(path: Path, rows: int = BIG, bad_at: int | None = None) -> Path:
    """``rows`` demo calls of one day as CSV; with ``bad_at``, the data line of that number
    has a portfolio of four letters."""
    spec = demo.DemoSpec(days=1, agents=60, calls_per_day=rows, end_day=date(2025, 5, 6), now=2e9)
    out = io.StringIO()
    assert demo.write_csv(out, spec) == rows
    lines = out.getvalue().splitlines(keepends=True)
    if bad_at is not None:
        lines[bad_at] = lines[bad_at].replace(",GAL,", ",GALX,").replace(",CSC,", ",CSCX,")
        lines[bad_at] = lines[bad_at].replace(",MBF,", ",MBFX,").replace(",RVL,", ",RVLX,")
        lines[bad_at] = lines[bad_at].replace(",KFN,", ",KFNX,").replace(",TRX,", ",TRXX,")
    path.write_text("".join(lines), encoding="utf-8")
    return path


async def load(store: CallStore, path: Path, **options: Any) -> ImportResult:
    return await import_file(store, path, tz=UTC, **options)


def test_a_first_load_builds_every_index_and_a_failed_one_leaves_them(store_url: str) -> None:
    async def body(store: CallStore) -> list[Any]:
        fresh = await state(store)
        try:
            async with store.writer() as writer:
                await writer.write([OTHER])
                raise RuntimeError("the file had a bad line")
        except RuntimeError:
            pass
        failed = await state(store)
        async with store.writer() as writer:
            await writer.write([OTHER])
        return [fresh, failed, await state(store), writer.counts.inserted]

    fresh, failed, loaded, inserted = run(store_url, body)
    assert set(CALL_INDEXES) < fresh[1]
    assert failed == (0, fresh[1], 0)
    assert loaded == (1, fresh[1], 1)
    assert inserted == 1


def test_a_big_file_crosses_every_batch_boundary(store_url: str, tmp_path: Path) -> None:
    path = big_csv(tmp_path / "day.csv")

    async def body(store: CallStore) -> list[Any]:
        fresh = await index_names(store)
        # One batch from the reader, more than one statement in every store.
        first = await load(store, path, reader_process=True, batch_rows=BIG - 1)
        loaded = await state(store)
        again = await load(store, path, reader_process=False)
        ids = {row[1] for row in await report_rows(store, chunk_rows=5000)}
        return [fresh, tuple(first.counts), loaded, tuple(again.counts), ids]

    fresh, first, loaded, again, ids = run(store_url, body)
    assert first == (BIG, 0, 0)
    assert loaded == (BIG, fresh, 1)
    assert again == (0, 0, BIG)
    call_ids = [line.split(",")[11] for line in path.read_text().splitlines()[1:]]
    assert ids == set(call_ids)
    assert len(ids) == BIG


@pytest.mark.parametrize("first_load", [True, False], ids=["empty", "not-empty"])
def test_a_bad_row_in_the_middle_of_a_big_file_commits_nothing(
    store_url: str, tmp_path: Path, first_load: bool
) -> None:
    path = big_csv(tmp_path / "day.csv", bad_at=15_000)

    async def body(store: CallStore) -> list[Any]:
        if not first_load:
            async with store.writer() as writer:
                await writer.write([OTHER])
        before = await state(store)
        with pytest.raises(DataError) as caught:
            await load(store, path, reader_process=True)
        return [before, await state(store), str(caught.value)]

    before, after, message = run(store_url, body)
    assert after == before
    assert message.startswith(f"{path}:15001: field portfolio: must be exactly 3 letters or digits")


# The same calls written twice over: c2 repeated as it was, c3 changed and then repeated,
# c4 changed twice, across batches of 2 rows.
LINES = [
    "user,answer_time,disposition,phone_number,loan_number,call_type,call_duration,lead_id,"
    "term_reason,portfolio,campaign_name,call_id",
    *(
        f"Agent.{n},2025-05-06 10:00:0{n},RPC,555000000{n},,MANUAL,00:01:00,,AGENT,GAL,"
        f"GALSERVERS,c{n}"
        for n in range(1, 7)
    ),
    "Agent.2,2025-05-06 10:00:02,RPC,5550000002,,MANUAL,00:01:00,,AGENT,GAL,GALSERVERS,c2",
    "Agent.3,2025-05-06 10:00:03,PTP,5550000003,,MANUAL,00:01:00,,AGENT,GAL,GALSERVERS,c3",
    "Agent.3,2025-05-06 10:00:03,PTP,5550000003,,MANUAL,00:01:00,,AGENT,GAL,GALSERVERS,c3",
    "Agent.4,2025-05-06 10:00:04,RPC,5550000004,,MANUAL,00:02:00,,AGENT,GAL,GALSERVERS,c4",
    "Agent.X,2025-05-06 10:00:04,RPC,5550000004,,MANUAL,00:02:00,7,AGENT,GAL,GALSERVERS,c4",
]


def test_a_call_repeated_in_a_first_load_is_stored_as_upserts_would_store_it(
    store_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "repeats.csv"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")

    async def body(store: CallStore) -> list[Any]:
        empty = await load(store, path, batch_rows=2)
        first = [row[1:] for row in await report_rows(store, order="asc")]
        ids = [row[1] for row in sorted(await report_rows(store), key=lambda row: row[0])]
        indexes = await index_names(store)
        # The same file into a store that is not empty: the upsert path.
        assert store.imports is not None
        await store.imports.remove(empty.import_id, 0)
        async with store.writer() as writer:
            await writer.write([OTHER])
        upserted = await load(store, path, batch_rows=2)
        second = [row[1:] for row in await report_rows(store, order="asc") if row[1] != "other-1"]
        return [tuple(empty.counts), tuple(upserted.counts), first, second, ids, indexes]

    empty, upserted, first, second, ids, indexes = run(store_url, body)
    assert empty == upserted == (6, 3, 2)
    assert first == second
    assert [row[:2] + row[7:9] for row in first] == [
        ("c1", "Agent.1", 60, None),
        ("c2", "Agent.2", 60, None),
        ("c3", "Agent.3", 60, None),
        ("c4", "Agent.X", 120, 7),
        ("c5", "Agent.5", 60, None),
        ("c6", "Agent.6", 60, None),
    ]
    assert [row[3] for row in first] == ["RPC", "RPC", "PTP", "RPC", "RPC", "RPC"]
    # Each call keeps the id of its first line.
    assert ids == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert set(CALL_INDEXES) < indexes


def test_the_reader_process_reads_as_the_thread_does(sqlite_url: str, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("\n".join([LINES[0] + ",extra", *(f"{line},x" for line in LINES[1:])]) + "\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*LINES[:4], LINES[4].replace("00:01:00", "1 min"), *LINES[5:]]))

    def attempt(process: bool) -> tuple[Any, ...]:
        warnings: list[str] = []

        async def body(store: CallStore) -> tuple[Any, ...]:
            with pytest.raises(DataError) as caught:
                await load(store, bad, reader_process=process, warn=warnings.append)
            result = await load(store, good, reader_process=process, warn=warnings.append)
            rows = [row[1:] for row in await report_rows(store)]
            assert store.imports is not None
            await store.imports.remove(result.import_id, 0)
            return str(caught.value), tuple(result.counts), rows, warnings

        return tuple(run(sqlite_url, body))

    assert attempt(True) == attempt(False)
    message, counts, _, warnings = attempt(True)
    assert message == f"{bad}:5: field call_duration: expected HH:MM:SS, got '1 min'"
    assert counts == (6, 3, 2)
    assert warnings == [f"{good}: ignoring unknown columns: extra"]


def test_a_reader_process_that_stops_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("\n".join(LINES) + "\n")

    async def body() -> None:
        with path.open("rb") as raw:
            spec = ReadSpec(str(path), "no such format", UTC, "", 100)  # a KeyError there
            async with batch_source(spec, raw, 0, print, process=True) as source:
                await source.next()

    with pytest.raises(AgentCDRError) as caught:
        asyncio.run(body())
    assert caught.value.message == (
        f"{path}: the process reading the file stopped (exit status 1; its error, if any, is above)"
    )


def test_mariadb_builds_missing_indexes_when_opened(mysql_url: str) -> None:
    # What a first load that died before its ALTER TABLE leaves behind (with, meanwhile,
    # another writer's copy of a call: there was no unique key to stop it).
    async def break_it(store: CallStore) -> set[str]:
        complete = await index_names(store)
        async with store.writer() as writer:
            await writer.write([OTHER])
        execute = store.execute  # type: ignore[attr-defined]
        await execute("ALTER TABLE calls DROP INDEX source, DROP INDEX calls_agent")
        await execute(
            "INSERT INTO calls (source, call_id, agent, agent_key, answer_ts, call_type, "
            "duration_sec, portfolio, campaign_name, inserted_at, updated_at) SELECT source, "
            "call_id, 'Some.Body', agent_key, answer_ts, call_type, duration_sec, portfolio, "
            "campaign_name, inserted_at, updated_at FROM calls"
        )
        assert await index_names(store) == complete - {"source", "calls_agent"}
        return complete

    async def repaired(store: CallStore) -> tuple[set[str], list[str]]:
        agents = await store.fetch_rows("SELECT agent FROM calls")  # type: ignore[attr-defined]
        return await index_names(store), [row[0] for row in agents]

    complete = run(mysql_url, break_it)
    assert run(mysql_url, repaired) == (complete, ["Some.Body"])


def test_two_imports_into_an_empty_store_at_once(store_url: str, tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("\n".join(LINES[:4]) + "\n")
    b.write_text("\n".join([LINES[0], *LINES[4:7]]) + "\n")

    def one(path: Path) -> tuple[int, ...]:
        # An event loop each, as two processes would have (SQLite's writer waits for the
        # other's transaction in the loop's thread).
        return tuple(run(store_url, lambda store: load(store, path)).counts)

    async def both() -> list[tuple[int, ...]]:
        return list(await asyncio.gather(asyncio.to_thread(one, a), asyncio.to_thread(one, b)))

    counts = asyncio.run(both())
    calls, indexes, entries = run(store_url, state)
    assert counts == [(3, 0, 0), (3, 0, 0)]
    assert (calls, entries) == (6, 2)
    assert set(CALL_INDEXES) < indexes
