"""``goAction=agent_cdr_summary``, the phone and loan searches and ``responsetype=xlsx``
through HTTP, on every store kind."""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from openpyxl import load_workbook

from agentcdr.encoders import xlsx
from agentcdr.store.sql import sqlite as sqlite_store
from agentcdr.summary import GROUP_KEYS
from tests.conftest import ApiHarness
from tests.seed import add_calls, call

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}
SUMMARY = {"goAction": "agent_cdr_summary"}


def summary(api: ApiHarness, **extra: object) -> dict[str, object]:
    response = api.post(**SUMMARY, **extra)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"] == "success"
    return body["data"]  # type: ignore[no-any-return]


def test_a_summary_by_tenant(api: ApiHarness) -> None:
    data = summary(api, groupBy="portfolio", **DAY)
    assert data["rows"] == [
        {"portfolio": "CSC", "calls": 3, "total_sec": 90319, "avg_sec": 30106, "max_sec": 90007},
        {"portfolio": "GAL", "calls": 2, "total_sec": 67, "avg_sec": 34, "max_sec": 47},
        {"portfolio": "BRK", "calls": 1, "total_sec": 65, "avg_sec": 65, "max_sec": 65},
    ]
    assert [h["field"] for h in data["headers"]] == [  # type: ignore[attr-defined]
        "portfolio", "calls", "total_sec", "avg_sec", "max_sec"
    ]  # fmt: skip
    meta = data["meta"]
    assert meta == {  # type: ignore[comparison-overlap]
        "from": "2025-05-13 00:00:00",
        "to": "2025-05-13 23:59:59",
        "timezone": "America/New_York",
        "filters": {},
        "row_count": 3,
        "warnings": [],
        "group_by": ["portfolio"],
        "totals": {"calls": 6, "total_sec": 90451},
    }


@pytest.mark.parametrize(
    "group_by", [",".join(p) for p in itertools.combinations(GROUP_KEYS, 2)][::4]
)
def test_the_counts_agree_with_the_report(api: ApiHarness, group_by: str) -> None:
    keys = group_by.split(",")
    filters = {"fromDate": "2025-05-12", "toDate": "2025-05-14", "tz": "Europe/London"}
    rows = api.rows(fields="user,answer_time,disposition,call_type,term_reason,portfolio,campaign_name,profile,call_duration_sec", **filters)  # fmt: skip

    def key(row: dict[str, object], name: str) -> object:
        stamp = str(row["answer_time"])
        if name == "day":
            return stamp[:10]
        if name == "hour":
            return int(stamp[11:13])
        return row[name]

    counted = Counter(tuple(key(r, k) for k in keys) for r in rows)
    got = summary(api, groupBy=group_by, **filters)
    assert {tuple(r[k] for k in keys): r["calls"] for r in got["rows"]} == counted  # type: ignore[attr-defined, index]
    assert got["meta"]["totals"]["calls"] == len(rows)  # type: ignore[index]


@pytest.mark.parametrize("parts", [2, 5])
def test_a_summary_read_in_parts_adds_up_as_one(
    sqlite_api: ApiHarness, monkeypatch: pytest.MonkeyPatch, parts: int
) -> None:
    """A server worker groups a SQLite range in one part per core (``store.slices.
    time_parts``); groups that several parts hold come out merged, as from one statement."""
    add_calls(  # every three hours around London's change to summer time (New York times)
        sqlite_api.url,
        [
            call(f"dst{n}", f"Example.User{n % 2 + 1}", f"2025-03-{29 + n // 8} "
                 f"{n % 8 * 3:02d}:30:00", "GALSERVERS", seconds=n)
            for n in range(24)
        ],
    )  # fmt: skip
    spans = [
        {"fromDate": "2025-05-12", "toDate": "2025-05-14", "tz": "Europe/London"},
        {"fromDate": "2025-03-29", "toDate": "2025-03-31", "tz": "Europe/London"},
    ]
    for filters, group_by in itertools.product(
        spans, ("user", "portfolio,day", "day,hour", "disposition,call_type")
    ):
        whole = summary(sqlite_api, groupBy=group_by, **filters)
        monkeypatch.setattr(sqlite_store, "render_threads", lambda cores: parts)
        in_parts = summary(sqlite_api, groupBy=group_by, **filters)
        monkeypatch.undo()
        assert in_parts == whole
        assert whole["meta"]["totals"]["calls"] > 5  # type: ignore[index]


def test_every_format_says_the_same(api: ApiHarness) -> None:
    want = summary(api, groupBy="user,call_type", **DAY)["rows"]
    as_text = [{k: str(v) for k, v in r.items()} for r in want]  # type: ignore[attr-defined]
    ndjson = api.post(**SUMMARY, groupBy="user,call_type", responsetype="ndjson", **DAY)
    assert [orjson.loads(line) for line in ndjson.content.splitlines()] == want
    table = api.post(**SUMMARY, groupBy="user,call_type", responsetype="csv", **DAY)
    assert table.headers["content-disposition"] == (
        'attachment; filename="agent_cdr_summary_2025-05-13_2025-05-13.csv"'
    )
    assert list(csv.DictReader(io.StringIO(table.text))) == as_text
    tree = ET.fromstring(
        api.post(**SUMMARY, groupBy="user,call_type", responsetype="xml", **DAY).content
    )
    assert tree.findtext("action") == "agent_cdr_summary"
    assert [{c.tag: c.text for c in r} for r in tree.iter("rows")] == as_text
    assert tree.findtext("data/meta/totals/calls") == "6"


@pytest.mark.parametrize(
    ("extra", "status", "code", "message"),
    [
        ({}, 400, "40001", "Missing required parameter: groupBy"),
        ({"groupBy": "agent"}, 400, "41004", "Invalid value for groupBy: unknown key 'agent'; allowed values are user, disposition, call_type, term_reason, portfolio, campaign_name, profile, day, hour"),
        ({"groupBy": "user,day,hour"}, 400, "41004", "Invalid value for groupBy: 3 keys; a summary is grouped by one or two"),
        ({"groupBy": "user", "responsetype": "xlsx"}, 400, "41004", "Invalid value for responsetype: 'xlsx'; allowed values are json, xml, csv, ndjson"),
        ({"groupBy": "user", "tenant[]": "CSC", "goUser": "galonly"}, 403, "10001", "Not allowed to see tenant CSC"),
        ({"goPass": "wrong"}, 401, "10000", "Invalid Username/Password"),  # before groupBy
        ({"groupBy": "user", "fromDate": "2025-13-01"}, 400, "41004", "Invalid value for fromDate: '2025-13-01' is not a valid date"),
    ],
)  # fmt: skip
def test_summary_errors(
    sqlite_api: ApiHarness, extra: dict[str, object], status: int, code: str, message: str
) -> None:
    response = sqlite_api.post(**SUMMARY, **extra)
    assert response.status_code == status
    assert response.json() == {"result": "error", "code": code, "message": message}


def test_parameters_of_the_other_action_are_named_in_warnings(sqlite_api: ApiHarness) -> None:
    meta = summary(sqlite_api, groupBy="hour", limit="5", order="asc", **DAY)["meta"]
    assert meta["warnings"] == [  # type: ignore[index]
        "ignored parameter 'limit': it is for agent_cdr only",
        "ignored parameter 'order': it is for agent_cdr only",
    ]
    report = sqlite_api.post(groupBy="user", **DAY).json()["data"]["meta"]
    assert report["warnings"] == ["ignored parameter 'groupBy': it is for agent_cdr_summary only"]


def test_an_empty_scope_and_an_unknown_action(sqlite_api: ApiHarness) -> None:
    data = summary(sqlite_api, goUser="noscope", groupBy="user", **DAY)
    assert (data["rows"], data["meta"]["totals"]) == ([], {"calls": 0, "total_sec": 0})  # type: ignore[index]
    response = sqlite_api.post(goAction="agent_cdr_totals", groupBy="user", **DAY)
    assert (response.status_code, response.json()["code"]) == (404, "10005")


def test_phone_and_loan_searches(api: ApiHarness) -> None:
    rows = api.rows(**{"phone_number[]": "9876543210"}, fields="call_id", **DAY)
    assert [r["call_id"] for r in rows] == ["a3"]
    rows = api.rows(loan_number="33333333-444444-002,1111111-222222-001", fields="call_id", **DAY)
    assert [r["call_id"] for r in rows] == ["a7", "a2", "a3", "a4", "a6"]
    data = summary(api, groupBy="user", phone_number="9876543210", **DAY)
    assert data["rows"] == [
        {"user": "Example.User2", "calls": 1, "total_sec": 20, "avg_sec": 20, "max_sec": 20}
    ]
    assert data["meta"]["filters"] == {"phone_number": ["9876543210"]}  # type: ignore[index]


# -- Excel ---------------------------------------------------------------------------------


def test_an_excel_workbook_of_the_report(api: ApiHarness) -> None:
    add_calls(
        api.url,
        [
            call(
                "x1",
                "Eve",
                "2025-05-13 12:00:00",
                "GALSERVERS",
                disposition='=HYPERLINK("x")',
                lead_id=None,
            )
        ],
    )
    response = api.post(
        responsetype="xlsx",
        fields="user,answer_time,disposition,call_duration,lead_id,call_duration_sec",
        **DAY,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["content-disposition"] == (
        'attachment; filename="agent_cdr_2025-05-13_2025-05-13.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "USER",
        "ANSWER TIME",
        "DISPOSITION",
        "CALL DURATION",
        "LEAD ID",
        "CALL DURATION SEC",
    )
    assert len(rows) == 8  # the header and the day's seven calls
    assert rows[1] == (
        "Example.User2",
        datetime(2025, 5, 13, 23, 59, 59),
        "VM / NML",
        "00:01:05",
        3333333,
        65,
    )
    eve = next(r for r in rows if r[0] == "Eve")
    assert eve[2] == '=HYPERLINK("x")'  # text, never a formula
    assert eve[4] is None
    assert next(r for r in rows if r[0] == "example.user3")[3] == "25:00:07"


def test_the_same_excel_report_is_the_same_file(sqlite_api: ApiHarness) -> None:
    """Its creation time is the range's start (New York's midnight in UTC), not the clock's:
    two requests a second apart give the same bytes, as a HEAD and a GET must agree."""
    first = sqlite_api.post(responsetype="xlsx", **DAY)
    assert first.status_code == 200
    time.sleep(1.05 - time.time() % 1)  # into the next second
    second = sqlite_api.post(responsetype="xlsx", **DAY)
    assert second.content == first.content
    book = load_workbook(io.BytesIO(first.content), read_only=True)
    assert book.properties.created == datetime(2025, 5, 13, 4, 0, 0)


def test_an_excel_report_too_long_for_a_sheet_is_refused(
    sqlite_api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    before = set(Path(tempfile.gettempdir()).glob("agentcdr-*.xlsx"))
    response = sqlite_api.post(responsetype="xlsx", **DAY)
    assert response.status_code == 400
    assert response.json() == {
        "result": "error",
        "code": "41004",
        "message": "Invalid value for responsetype: an Excel sheet holds at most 3 rows and this "
        "report has more: choose a shorter range, or csv",
    }
    assert set(Path(tempfile.gettempdir()).glob("agentcdr-*.xlsx")) == before  # nothing left


def test_excel_errors_are_json(sqlite_api: ApiHarness) -> None:
    response = sqlite_api.post(responsetype="xlsx", fromDate="yesterday")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert "content-disposition" not in response.headers
