"""Summaries computed by each store agree exactly with the report's rows for the same
request: every group key alone and in pairs, the filters, the tenant scope and the zone of
``day`` and ``hour`` (DST days included)."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agentcdr.records import COL, ReportRequest, Row
from agentcdr.store import CallStore, open_call_store
from agentcdr.summary import GROUP_KEYS, SummaryRow, day_label, offset_stretches, totals
from tests.seed import CALLS, call, seed, ts

NY = ZoneInfo("America/New_York")
# Around the spring DST change, and calls at local midnight and 23:59:59.
DST = [
    call("d1", "Ann", "2025-03-08 23:59:59", "GALSERVERS", seconds=11),
    call("d2", "Ann", "2025-03-09 01:59:59", "GALSERVERS", seconds=12),
    call("d3", "Bob", "2025-03-09 03:00:00", "GALCOLLECTIONS", seconds=13, call_type="DIALER"),
    call("d4", "Bob", "2025-03-09 23:30:00", "CSCCOLLECTIONS", seconds=14, disposition="RPC"),
    call("d5", "ann", "2025-03-10 00:00:00", "CSCCOLLECTIONS", seconds=15),
]


def _key(row: Row, key: str, tz: ZoneInfo) -> Any:
    local = datetime.fromtimestamp(row[COL["answer_ts"]], UTC).astimezone(tz)
    if key == "day":
        return local.date().isoformat()
    if key == "hour":
        return local.hour
    return row[COL[key]]


def expected(rows: list[Row], group_by: tuple[str, ...], tz: ZoneInfo) -> list[SummaryRow]:
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        entry = groups[tuple(_key(row, k, tz) for k in group_by)]
        seconds = row[COL["call_duration_sec"]]
        entry[0] += 1
        entry[1] += seconds
        entry[2] = max(entry[2], seconds)
    return sorted(
        (SummaryRow(k, *v) for k, v in groups.items()),
        key=lambda r: (-r.calls, *(f"{x:02d}" if isinstance(x, int) else str(x) for x in r.keys)),
    )


async def both(
    store: CallStore, request: ReportRequest, group_by: tuple[str, ...]
) -> tuple[list[SummaryRow], list[Row]]:
    summary = await store.summary(request, group_by)
    rows: list[Row] = []
    async for batch in await store.report(request, 1000):
        rows.extend(batch)
    return summary, rows


GROUPINGS = [(k,) for k in GROUP_KEYS] + list(itertools.combinations(GROUP_KEYS, 2))


def test_every_grouping_agrees_with_the_report(store_url: str) -> None:
    seed(store_url, CALLS + DST)
    requests = [
        ReportRequest(start_ts=ts("2025-05-12 00:00:00"), end_ts=ts("2025-05-15 00:00:00"), tz=NY),
        ReportRequest(start_ts=ts("2025-03-08 00:00:00"), end_ts=ts("2025-03-11 00:00:00"), tz=NY),
        ReportRequest(start_ts=ts("2025-03-08 00:00:00"), end_ts=ts("2025-03-11 00:00:00"), tz=ZoneInfo("Asia/Kolkata")),
        ReportRequest(start_ts=0, end_ts=2_000_000_000, tz=NY, tenants=("CSC",), users=("ann", "example.user3")),
        ReportRequest(start_ts=0, end_ts=2_000_000_000, tz=UTC_ZONE, dispositions=("rpc",), call_types=("MANUAL",)),
        ReportRequest(start_ts=0, end_ts=2_000_000_000, tz=NY, tenants=()),
    ]  # fmt: skip

    async def check() -> int:
        store = open_call_store(store_url)
        await store.open()
        compared = 0
        try:
            for request in requests:
                for group_by in GROUPINGS:
                    summary, rows = await both(store, request, group_by)
                    assert summary == expected(rows, group_by, request.tz), (request, group_by)
                    assert totals(summary) == {
                        "calls": len(rows),
                        "total_sec": sum(r[COL["call_duration_sec"]] for r in rows),
                    }
                    compared += len(summary)
        finally:
            await store.close()
        return compared

    assert asyncio.run(check()) > 500


UTC_ZONE = ZoneInfo("UTC")


def test_days_follow_the_report_zone_across_dst(sqlite_url: str) -> None:
    seed(sqlite_url, DST)
    request = ReportRequest(
        start_ts=ts("2025-03-08 00:00:00"), end_ts=ts("2025-03-11 00:00:00"), tz=NY
    )

    async def go() -> list[SummaryRow]:
        store = open_call_store(sqlite_url)
        await store.open()
        try:
            return await store.summary(request, ("day",))
        finally:
            await store.close()

    assert [(r.keys, r.calls, r.total_sec, r.max_sec, r.avg_sec) for r in asyncio.run(go())] == [
        (("2025-03-09",), 3, 39, 14, 13),
        (("2025-03-08",), 1, 11, 11, 11),
        (("2025-03-10",), 1, 15, 15, 15),
    ]


def test_average_rounds_half_up() -> None:
    assert SummaryRow((), 2, 3, 2).avg_sec == 2  # 1.5
    assert SummaryRow((), 4, 10, 5).avg_sec == 3  # 2.5
    assert SummaryRow((), 3, 10, 5).avg_sec == 3  # 3.33
    assert SummaryRow((), 0, 0, 0).avg_sec == 0


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
)
def test_offset_stretches_match_the_standard_library(zone: str) -> None:
    tz = ZoneInfo(zone)
    start, end = ts("2024-12-20 00:00:00"), ts("2026-01-10 00:00:00")
    stretches = offset_stretches(tz, start, end)
    assert stretches[0][0] == start
    for (begin, offset), (until, _) in itertools.pairwise([*stretches, (end, None)]):
        for probe in (begin, (begin + until) // 2, until - 1):
            delta = datetime.fromtimestamp(probe, UTC).astimezone(tz).utcoffset()
            assert delta is not None
            assert int(delta.total_seconds()) == offset, (zone, probe)
    assert day_label(0) == "1970-01-01"


@pytest.mark.parametrize("flavour", ["mariadb", "mysql"])
def test_a_summary_leaves_the_index_to_the_optimizer(flavour: str) -> None:
    """MariaDB's reports name the indexes their rows may come by, so that a wide range
    streams from the first row instead of after a table scan and a sort; a summary has no
    order to keep, and on those indexes a 30-day summary of 2M calls took 8.7 s against
    3.5 s for MariaDB's own plan, a scan (docs/deploying.md, "Query plans")."""
    pytest.importorskip("asyncmy")
    from agentcdr.store.sql.mariadb import report_hooks
    from agentcdr.store.sql.report_query import report_query, summary_query
    from agentcdr.store.sql.schema import MYSQL

    hooks = report_hooks(flavour, 600)  # type: ignore[arg-type]
    request = ReportRequest(ts("2025-05-01 00:00:00"), ts("2025-06-01 00:00:00"), UTC)
    for one in (request, replace(request, updated_since=0)):
        report, _ = report_query(one, MYSQL, hooks)
        summary, _ = summary_query(one, ("user",), MYSQL, hooks)
        assert " FROM calls FORCE INDEX (calls_answer, " in report
        assert " FROM calls WHERE " in summary
        assert "FORCE" not in summary
        assert ("MAX_EXECUTION_TIME" if flavour == "mysql" else "max_statement_time") in summary
