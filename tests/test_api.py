"""The agent_cdr contract through HTTP, run unchanged against every store kind."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import orjson
import pytest

from tests.conftest import ApiHarness
from tests.seed import CALLS, TZ, add_calls, call

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}
FIELDS = [
    "user",
    "answer_time",
    "disposition",
    "phone_number",
    "loan_number",
    "call_type",
    "call_duration",
    "lead_id",
    "term_reason",
    "portfolio",
    "campaign_name",
]
ROW_A2 = {
    "user": "Example.User1",
    "answer_time": "2025-05-13 20:59:08",
    "disposition": "VM / NML",
    "phone_number": "1234567890",
    "loan_number": "1111111-222222-001",
    "call_type": "MANUAL",
    "call_duration": "00:00:47",
    "lead_id": 3333333,
    "term_reason": "CALLER",
    "portfolio": "GAL",
    "campaign_name": "GALSERVERS",
}
ROW_A5 = {
    "user": "example.user3",
    "answer_time": "2025-05-13 10:15:00",
    "disposition": "RPC <right party> & co",
    "phone_number": "1234567890",
    "loan_number": "",
    "call_type": "DIALER",
    "call_duration": "25:00:07",
    "lead_id": None,
    "term_reason": "ABANDON",
    "portfolio": "CSC",
    "campaign_name": "CSCCOLLECTIONS",
}
ROW_A4 = {
    "user": "Example.User3",
    "answer_time": "2025-05-13 10:15:00",
    "disposition": "PTP - Promise To Pay",
    "phone_number": "1234567890",
    "loan_number": "1111111-222222-001",
    "call_type": "MANUAL",
    "call_duration": "00:05:12",
    "lead_id": 4000001,
    "term_reason": "AGENT",
    "portfolio": "CSC",
    "campaign_name": "CSCCOLLECTIONS",
}
HEADERS = [
    {"title": t, "field": f, "formatter": "html"}
    for t, f in [
        ("USER", "user"),
        ("ANSWER TIME", "answer_time"),
        ("DISPOSITION", "disposition"),
        ("PHONE NUMBER", "phone_number"),
        ("LOAN NUMBER", "loan_number"),
        ("CALL TYPE", "call_type"),
        ("CALL DURATION", "call_duration"),
        ("LEAD ID", "lead_id"),
        ("TERM REASON", "term_reason"),
        ("PORTFOLIO", "portfolio"),
        ("CAMPAIGN NAME", "campaign_name"),
    ]
]
DAY_ORDER = ["a7", "a2", "a3", "a5", "a4", "a6"]  # 2025-05-13, newest first, ties by id desc


def ids(rows: list[dict[str, object]]) -> list[object]:
    return [r["call_id"] for r in rows]


def test_documented_get_example(api: ApiHarness) -> None:
    response = api.client.get(
        "/goAPIv2/goReports/goAPI.php?goAction=agent_cdr&goUser=admin&goPass=correct%20horse"
        "%20battery&responsetype=json&profile[]=COLLECTIONS&tenant[]=CSC&fromDate=2025-05-13"
        "&toDate=2025-05-13"
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["result"] == "success"
    assert body["data"]["rows"] == [ROW_A5, ROW_A4]
    assert body["data"]["headers"] == HEADERS
    assert list(body["data"]) == ["rows", "headers", "meta"]


def test_documented_post_example(api: ApiHarness) -> None:
    rows = api.rows(**{"profile[]": "COLLECTIONS", "tenant[]": "CSC"}, **DAY)
    assert rows == [ROW_A5, ROW_A4]
    assert [list(r) for r in rows] == [FIELDS, FIELDS]


def test_whole_day_newest_first_with_ties_by_id(api: ApiHarness) -> None:
    rows = api.rows(fields="call_id,answer_time", **DAY)
    assert ids(rows) == DAY_ORDER
    assert rows[0]["answer_time"] == "2025-05-13 23:59:59"
    assert rows[-1]["answer_time"] == "2025-05-13 00:00:00"
    ascending = api.rows(fields="call_id", order="asc", **DAY)
    assert ids(ascending) == list(reversed(DAY_ORDER))


def test_meta(api: ApiHarness) -> None:
    body = api.post(fields="call_id", **DAY, **{"tenant[]": "gal"}).json()
    assert body["data"]["meta"] == {
        "from": "2025-05-13 00:00:00",
        "to": "2025-05-13 23:59:59",
        "timezone": "America/New_York",
        "order": "desc",
        "filters": {"tenant": ["GAL"]},
        "row_count": 2,
        "warnings": [],
    }


@pytest.mark.parametrize(
    "form",
    [
        [("user[]", "example.user1"), ("user[]", "EXAMPLE.USER2")],
        [("user[0]", "example.user1"), ("user[1]", "example.user2")],
        [("user", "example.user1"), ("user", "example.user2")],
        [("user", "Example.User1,Example.User2")],
        [("user", "Example.User1, ,Example.User2,")],
    ],
)
def test_list_forms_and_case_insensitive_users(
    api: ApiHarness, form: list[tuple[str, str]]
) -> None:
    response = api.post_pairs(list(api.params(fields="call_id", **DAY).items()) + form)
    assert ids(response.json()["data"]["rows"]) == ["a7", "a2", "a3"]


def test_single_user_and_case_insensitive_tenant_profile(api: ApiHarness) -> None:
    assert ids(api.rows(user="EXAMPLE.USER3", fields="call_id", **DAY)) == ["a5", "a4"]
    assert ids(api.rows(tenant="csc", profile="servers", fields="call_id", **DAY)) == ["a6"]
    assert ids(api.rows(user="José.Núñez1", fields="call_id,user", **DAY)) == ["a6"]


def test_extra_filters(api: ApiHarness) -> None:
    assert ids(api.rows(disposition="vm / nml", fields="call_id", **DAY)) == ["a7", "a2", "a3"]
    assert ids(api.rows(call_type="dialer", fields="call_id", **DAY)) == ["a3", "a5"]
    assert ids(api.rows(campaign_name="galfreshleads,brkcollections", fields="call_id", **DAY)) == [
        "a7",
        "a3",
    ]


def test_date_rules(api: ApiHarness) -> None:
    assert ids(api.rows(toDate="2025-05-13", fields="call_id")) == DAY_ORDER
    two_days = api.rows(fromDate="2025-05-12", toDate="2025-05-13", fields="call_id")
    assert ids(two_days) == [*DAY_ORDER, "a1"]


def test_ranges_relative_to_now(api: ApiHarness) -> None:
    now = datetime.now(TZ).replace(microsecond=0)

    def at(delta: timedelta) -> str:
        return (now + delta).strftime("%Y-%m-%d %H:%M:%S")

    add_calls(
        api.url,
        [
            call("r-25h", "Example.User1", at(-timedelta(hours=25)), "GALSERVERS"),
            call("r-1h", "Example.User1", at(-timedelta(hours=1)), "GALSERVERS"),
            call("r+1h", "Example.User1", at(timedelta(hours=1)), "GALSERVERS"),
            call("r+3d", "Example.User1", at(timedelta(days=3)), "GALSERVERS"),
        ],
    )
    # Neither date: the last 24 hours up to now; later calls are never in a range ending now.
    assert ids(api.rows(fields="call_id")) == ["r-1h"]
    yesterday = (now - timedelta(days=2)).strftime("%Y-%m-%d")
    assert ids(api.rows(fromDate=yesterday, fields="call_id"))[-1:] == ["r-25h"]
    assert "r+1h" not in ids(api.rows(fromDate=yesterday, fields="call_id"))
    future = (now + timedelta(days=3)).strftime("%Y-%m-%d")
    assert api.rows(fromDate=future) == []
    assert ids(api.rows(toDate=future, fields="call_id")) == ["r+3d"]


def test_tz_moves_the_day_and_the_rendering(api: ApiHarness) -> None:
    rows = api.rows(
        tz="UTC", fromDate="2025-05-14", toDate="2025-05-14", fields="call_id,answer_time"
    )
    assert rows == [
        {"call_id": "a8", "answer_time": "2025-05-14 04:00:00"},
        {"call_id": "a7", "answer_time": "2025-05-14 03:59:59"},
        {"call_id": "a2", "answer_time": "2025-05-14 00:59:08"},
        {"call_id": "a3", "answer_time": "2025-05-14 00:56:45"},
    ]


def test_fields_choose_and_order_columns(api: ApiHarness) -> None:
    body = api.post(
        fields="call_duration_sec,profile,call_id,user", user="example.user3", **DAY
    ).json()
    assert body["data"]["rows"] == [
        {
            "call_duration_sec": 90007,
            "profile": "COLLECTIONS",
            "call_id": "a5",
            "user": "example.user3",
        },
        {
            "call_duration_sec": 312,
            "profile": "COLLECTIONS",
            "call_id": "a4",
            "user": "Example.User3",
        },
    ]
    assert [h["title"] for h in body["data"]["headers"]] == [
        "CALL DURATION SEC",
        "PROFILE",
        "CALL ID",
        "USER",
    ]


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_paging_loses_and_duplicates_nothing_under_inserts(api: ApiHarness, order: str) -> None:
    seen: list[object] = []
    cursor = None
    pages = 0
    while True:
        body = api.post(
            limit=2,
            order=order,
            cursor=cursor,
            fields="call_id",
            fromDate="2025-05-12",
            toDate="2025-05-14",
        ).json()["data"]
        seen += ids(body["rows"])
        pages += 1
        if pages == 1:
            # A newer call arrives while the client is paging: it must not shift the pages.
            add_calls(api.url, [call("late", "Example.User9", "2025-05-14 12:00:00", "GALSERVERS")])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    expected = ["a8", *DAY_ORDER, "a1"]
    assert seen == (expected if order == "desc" else [*reversed(expected), "late"])
    assert pages == (4 if order == "desc" else 5)


def test_xml_is_well_formed_and_matches_json(api: ApiHarness) -> None:
    response = api.post(responsetype="XML", user="example.user3", **DAY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "goautodialapi"
    assert [c.tag for c in root] == ["action", "result", "data"]
    assert root.findtext("result") == "success"
    rows = root.find("data").findall("rows")  # type: ignore[union-attr]
    assert [[e.tag for e in r] for r in rows] == [FIELDS, FIELDS]
    first = {e.tag: e.text or "" for e in rows[0]}
    assert first == {k: ("" if v is None else str(v)) for k, v in ROW_A5.items()}
    headers = root.find("data").findall("headers")  # type: ignore[union-attr]
    assert [h.findtext("title") for h in headers][:2] == ["USER", "ANSWER TIME"]
    assert b"RPC &lt;right party&gt; &amp; co" in response.content


def test_csv_and_ndjson(api: ApiHarness) -> None:
    text = api.post(responsetype="csv", user="example.user3", **DAY).text
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == FIELDS
    assert table[1] == [("" if v is None else str(v)) for v in ROW_A5.values()]
    assert len(table) == 3
    ndjson = api.post(responsetype="ndjson", user="example.user3", **DAY)
    assert ndjson.headers["content-type"] == "application/x-ndjson; charset=utf-8"
    assert [orjson.loads(line) for line in ndjson.content.splitlines()] == [ROW_A5, ROW_A4]


def test_all_tenants_user_asking_for_an_empty_tenant_gets_empty_success(api: ApiHarness) -> None:
    body = api.post(tenant="ZZZ", **DAY).json()
    assert body["result"] == "success"
    assert body["data"]["rows"] == []
    assert body["data"]["headers"] == HEADERS


def test_scoped_users(api: ApiHarness) -> None:
    assert ids(api.rows(goUser="galonly", fields="call_id", **DAY)) == ["a2", "a3"]
    assert ids(api.rows(goUser="gal.csc", fields="call_id", **DAY)) == [
        "a2",
        "a3",
        "a5",
        "a4",
        "a6",
    ]
    assert api.rows(goUser="noscope", **DAY) == []


def test_updated_since(api: ApiHarness) -> None:
    assert ids(api.rows(updatedSince="2000-01-01 00:00:00", fields="call_id", **DAY)) == DAY_ORDER
    assert api.rows(updatedSince="2999-01-01 00:00:00", **DAY) == []


def test_all_seeded_calls_round_trip(api: ApiHarness) -> None:
    rows = api.rows(fromDate="2025-05-01", toDate="2025-05-31", order="asc", fields="call_id")
    assert ids(rows) == [c.call_id for c in sorted(CALLS, key=lambda c: c.answer_ts)]


def test_case_insensitive_filters_fold_non_ascii_letters(api: ApiHarness) -> None:
    add_calls(
        api.url,
        [
            call(
                "ete",
                "Élodie.Étienne1",
                "2025-05-13 12:00:00",
                "GALSERVERS",
                disposition="ÉTÉ / RAPPEL",
            )
        ],
    )
    assert ids(api.rows(disposition="été / rappel", fields="call_id", **DAY)) == ["ete"]
    assert ids(api.rows(user="élodie.étienne1", fields="call_id", **DAY)) == ["ete"]
