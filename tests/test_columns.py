"""The column table of ``records`` is the one description of a call: the record, the report
fields, the client's row type and every store's live schema agree with it."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
from typing import Any

from agentcdr.client.rows import CdrRow
from agentcdr.records import ALL_FIELDS, COLUMNS, FIELDS, NUMERIC_FIELDS, ROW_COLUMNS, CallRecord
from agentcdr.store import open_call_store


def test_the_record_and_the_row_follow_the_table() -> None:
    names = tuple(c.name for c in COLUMNS)
    assert CallRecord._fields == (*names, "source")
    assert ("id", *names) == ROW_COLUMNS
    assert tuple(f.name for f in FIELDS) == ALL_FIELDS
    assert {f.column for f in FIELDS} == set(names)  # every column is shown by some field
    assert {"lead_id", "call_duration_sec"} == NUMERIC_FIELDS


def test_the_clients_row_type_has_every_report_field() -> None:
    fields = {f.name for f in dataclasses.fields(CdrRow)}
    assert fields == set(ALL_FIELDS)


def _live_schema(url: str) -> dict[str, tuple[str, int | None]]:
    """column -> (type family, text length) of the calls table as the database has it."""
    if url.startswith("sqlite:"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'calls'").fetchone()
        found: dict[str, tuple[str, int | None]] = {}
        for name, kind, width in re.findall(r"^\s*(\w+) (\w+)(?:\((\d+)\))?", sql, re.M):
            text = kind.upper() in ("VARCHAR", "TEXT")
            found[name] = ("text" if text else "integer", int(width) if width else None)
        return found

    async def query() -> list[tuple[Any, ...]]:
        store = open_call_store(url)
        await store.open()
        here = "current_schema()" if url.startswith("postgresql") else "DATABASE()"
        try:
            return await store.fetch_rows(  # type: ignore[attr-defined, no-any-return]
                "SELECT column_name, data_type, character_maximum_length "
                f"FROM information_schema.columns WHERE table_schema = {here} "
                "AND table_name = 'calls'"
            )
        finally:
            await store.close()

    rows = asyncio.run(query())
    return {
        str(name): ("text" if "char" in str(kind) or "text" in str(kind) else "integer", width)
        for name, kind, width in rows
    }


def test_every_store_has_the_widths_of_the_table(store_url: str) -> None:
    async def migrate() -> None:
        store = open_call_store(store_url)
        await store.open()  # migrated to the latest schema
        await store.close()

    asyncio.run(migrate())
    live = _live_schema(store_url)
    for column in COLUMNS:
        kind, width = live[column.store]
        assert kind == ("integer" if column.integer else "text"), column
        if not column.integer:
            assert width == column.width, column
