"""The VICIdial adapter through the real API: rows, VICIdial logins beside agentcdr's own
API users (kept in a separate users_db), and the start-up check for a login source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcdr.errors import ConfigError
from agentcdr.settings import Settings
from agentcdr.web.app import create_app
from tests.conftest import ApiHarness, make_harness
from tests.seed import PASSWORD, seed
from tests.vicidial_schema import create_vicidial

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}
ROW_1001 = {
    "user": "Example.User1",
    "answer_time": "2025-05-13 14:59:08",
    "disposition": "VM / NML",
    "phone_number": "5551230001",
    "loan_number": "LN-0001",
    "call_type": "MANUAL",
    "call_duration": "00:03:07",
    "lead_id": 101,
    "term_reason": "AGENT",
    "portfolio": "GAL",
    "campaign_name": "GALSERVERS",
}


@pytest.fixture
def dialer(mysql_url: str, sqlite_url: str, tmp_path: Path) -> Iterator[ApiHarness]:
    create_vicidial(mysql_url)
    seed(sqlite_url, calls=[], users={"admin": None})
    url = "vicidial+mysql://" + mysql_url.split("://", 1)[1]
    yield from make_harness(url, tmp_path, users_db=sqlite_url, vicidial_auth=True)


def test_agentcdr_user_reads_the_dialer(dialer: ApiHarness) -> None:
    body = dialer.post(fields="call_id", **DAY).json()
    assert [r["call_id"] for r in body["data"]["rows"]] == [
        "1747162000.1004",
        "1747160000.1003",
        "1747160000.1002",
        "1747159148.1001",
        "1747141200.1005",
        "1747137600.1006",
    ]
    assert dialer.rows(user="EXAMPLE.USER1", **DAY)[0] == ROW_1001


def test_a_summary_of_the_dialer(dialer: ApiHarness) -> None:
    response = dialer.post(goAction="agent_cdr_summary", groupBy="portfolio,call_type", **DAY)
    data = response.json()["data"]
    assert data["rows"] == [
        {"portfolio": "GAL", "call_type": "DIALER", "calls": 3, "total_sec": 167, "avg_sec": 56, "max_sec": 95},
        {"portfolio": "CSC", "call_type": "DIALER", "calls": 1, "total_sec": 42, "avg_sec": 42, "max_sec": 42},
        {"portfolio": "CSC", "call_type": "MANUAL", "calls": 1, "total_sec": 30, "avg_sec": 30, "max_sec": 30},
        {"portfolio": "GAL", "call_type": "MANUAL", "calls": 1, "total_sec": 187, "avg_sec": 187, "max_sec": 187},
    ]  # fmt: skip
    assert data["meta"]["totals"] == {"calls": 6, "total_sec": 426}
    scoped = dialer.post(
        goUser="cscmgr", goPass="csc-pass", goAction="agent_cdr_summary", groupBy="portfolio", **DAY
    )
    assert scoped.json()["data"]["rows"] == [
        {"portfolio": "CSC", "calls": 2, "total_sec": 72, "avg_sec": 36, "max_sec": 42}
    ]


def test_vicidial_users_log_in_with_their_group_scope(dialer: ApiHarness) -> None:
    rows = dialer.rows(goUser="cscmgr", goPass="csc-pass", fields="call_id,portfolio", **DAY)
    assert rows == [
        {"call_id": "1747160000.1003", "portfolio": "CSC"},
        {"call_id": "1747141200.1005", "portfolio": "CSC"},
    ]
    refused = dialer.post(goUser="cscmgr", goPass="csc-pass", tenant="GAL", **DAY)
    assert refused.status_code == 403
    assert refused.json()["message"] == "Not allowed to see tenant GAL"
    wrong = dialer.post(goUser="cscmgr", goPass="not-it", **DAY)
    assert wrong.json() == {
        "result": "error",
        "code": "10000",
        "message": "Invalid Username/Password",
    }
    assert dialer.post(goUser="agentlvl", goPass="agent-pass", **DAY).status_code == 401
    assert dialer.post(goPass=PASSWORD, **DAY).status_code == 200  # agentcdr's own user


def test_updated_since_is_refused_by_the_dialer(dialer: ApiHarness) -> None:
    response = dialer.post(updatedSince="2025-05-13 00:00:00", **DAY)
    assert response.status_code == 400
    assert response.json()["code"] == "41004"


def test_a_read_only_store_needs_a_login_source(mysql_url: str) -> None:
    url = "vicidial+mysql://" + mysql_url.split("://", 1)[1]
    with pytest.raises(ConfigError) as raised:
        create_app(Settings.load({"db": url}, environ={}))
    assert raised.value.message == (
        f"the store {url} keeps no API users: set users_db (and/or vicidial_auth for the "
        "VICIdial adapter)"
    )
