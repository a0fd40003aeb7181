"""Every failure path of the endpoint: code, message, HTTP status, format, and check order."""

from __future__ import annotations

import base64
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from agentcdr import paging, params
from agentcdr.errors import ConfigError
from tests.conftest import API, USERS, ApiHarness, make_harness
from tests.seed import PASSWORD, TZ, seed

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}


def error(response, status: int, code: str, message: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.json() == {"result": "error", "code": code, "message": message}


@pytest.mark.parametrize(
    ("extra", "status", "code", "message"),
    [
        ({"goAction": None}, 404, "10005", "Command Not Found"),
        ({"goAction": "goGetAllCampaigns"}, 404, "10005", "Command Not Found"),
        ({"responsetype": None}, 400, "40001", "Missing required parameter: responsetype"),
        (
            {"responsetype": "html"},
            400,
            "41004",
            "Invalid value for responsetype: 'html'; allowed values are json, xml, csv, ndjson, xlsx",
        ),
        ({"goUser": None}, 400, "40001", "Missing required parameter: goUser"),
        ({"goPass": None}, 400, "40001", "Missing required parameter: goPass"),
        ({"goPass": "wrong password"}, 401, "10000", "Invalid Username/Password"),
        ({"goUser": "nobody"}, 401, "10000", "Invalid Username/Password"),
        ({"goUser": "galonly", "tenant[]": "CSC"}, 403, "10001", "Not allowed to see tenant CSC"),
        (
            {"tenant[]": "ABCD"},
            400,
            "41004",
            "Invalid value for tenant: 'ABCD' is not a 3-character tenant code",
        ),
        (
            {"fromDate": "2025-05-14"},
            400,
            "41004",
            "Invalid value for fromDate: 2025-05-14 is after toDate 2025-05-13",
        ),
        (
            {"fromDate": "2025-02-30"},
            400,
            "41004",
            "Invalid value for fromDate: '2025-02-30' is not a valid date",
        ),
        (
            {"toDate": "13/05/2025"},
            400,
            "41004",
            "Invalid value for toDate: '13/05/2025' is not a date of the form YYYY-MM-DD",
        ),
        (
            {"fromDate": "2024-05-12"},
            400,
            "41004",
            "Invalid value for toDate: the range spans 367 days; the maximum is 366",
        ),
        (
            {"limit": "0"},
            400,
            "41004",
            "Invalid value for limit: '0'; expected a whole number from 1 to 1000000",
        ),
        (
            {"order": "sideways"},
            400,
            "41004",
            "Invalid value for order: 'sideways'; allowed values are asc, desc",
        ),
        (
            {"fields": "user,salary"},
            400,
            "41004",
            "Invalid value for fields: unknown field 'salary'; available: user, answer_time, "
            "disposition, phone_number, loan_number, call_type, call_duration, lead_id, "
            "term_reason, portfolio, campaign_name, call_duration_sec, profile, call_id",
        ),
        ({"fields": "user,USER"}, 400, "41004", "Invalid value for fields: a field is named twice"),
        (
            {"tz": "Mars/Olympus"},
            400,
            "41004",
            "Invalid value for tz: 'Mars/Olympus' is not an IANA time-zone name",
        ),
        (
            {"call_type": "PREDICTIVE"},
            400,
            "41004",
            "Invalid value for call_type: 'PREDICTIVE'; allowed values are MANUAL, DIALER, INBOUND",
        ),
        (
            {"cursor": "not-a-cursor"},
            400,
            "41004",
            "Invalid value for cursor: not a cursor returned by this report",
        ),
        (
            {"updatedSince": "yesterday"},
            400,
            "41004",
            "Invalid value for updatedSince: 'yesterday'; expected YYYY-MM-DD HH:MM:SS",
        ),
        (
            {"updatedSince": "٢٠٢٥-05-13 10:00:00"},  # digits, but not ASCII ones
            400,
            "41004",
            "Invalid value for updatedSince: '٢٠٢٥-05-13 10:00:00'; expected YYYY-MM-DD HH:MM:SS",
        ),
        (
            {"updatedSince": "2025-02-30 10:00:00"},
            400,
            "41004",
            "Invalid value for updatedSince: '2025-02-30 10:00:00' is not a valid time",
        ),
    ],
)
def test_error_table(
    sqlite_api: ApiHarness, extra: dict[str, object], status: int, code: str, message: str
) -> None:
    for response in (sqlite_api.get(**{**DAY, **extra}), sqlite_api.post(**{**DAY, **extra})):
        error(response, status, code, message)


def test_one_sided_ranges_obey_the_maximum_span(sqlite_api: ApiHarness) -> None:
    today = datetime.now(TZ).date()
    start = today - timedelta(days=366)  # 367 days through today
    error(
        sqlite_api.post(fromDate=start.isoformat()),
        400,
        "41004",
        "Invalid value for fromDate: the range through today spans 367 days; the maximum is 366",
    )
    assert sqlite_api.post(fromDate=(start + timedelta(days=1)).isoformat()).status_code == 200


def test_cursor_of_the_other_order_is_refused(sqlite_api: ApiHarness) -> None:
    cursor = paging.encode_cursor(1747170000, 3, "asc")
    error(
        sqlite_api.post(cursor=cursor, **DAY),
        400,
        "41004",
        "Invalid value for cursor: the cursor belongs to order=asc",
    )


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_get_405(sqlite_api: ApiHarness, method: str) -> None:
    response = sqlite_api.client.request(method, API)
    error(response, 405, "10009", f"Method not allowed: {method}; use GET or POST")
    assert response.headers["allow"] == "GET, POST, HEAD, OPTIONS"


def test_checks_run_in_the_documented_order(sqlite_api: ApiHarness) -> None:
    # goAction before everything, responsetype before credentials, credentials before
    # tenant scope, tenant scope before the other parameters.
    error(sqlite_api.post(goAction="x", responsetype="html"), 404, "10005", "Command Not Found")
    error(
        sqlite_api.post(responsetype="html", goPass="wrong"),
        400,
        "41004",
        "Invalid value for responsetype: 'html'; allowed values are json, xml, csv, ndjson, xlsx",
    )
    error(
        sqlite_api.post(goPass="wrong", fromDate="garbage", **{"tenant[]": "ABCD"}),
        401,
        "10000",
        "Invalid Username/Password",
    )
    error(
        sqlite_api.post(goUser="galonly", fromDate="garbage", **{"tenant[]": "CSC"}),
        403,
        "10001",
        "Not allowed to see tenant CSC",
    )


def test_errors_in_xml_when_xml_was_asked_for(sqlite_api: ApiHarness) -> None:
    response = sqlite_api.post(responsetype="xml", goPass="wrong")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert [(e.tag, e.text) for e in root] == [
        ("result", "error"),
        ("code", "10000"),
        ("message", "Invalid Username/Password"),
    ]


def test_throttle_after_repeated_failures_even_for_the_right_password(
    sqlite_url: str, open_api: Callable[..., ApiHarness]
) -> None:
    seed(sqlite_url, users=USERS)
    api = open_api(sqlite_url, login_max_user_failures=3)
    for _ in range(3):
        error(api.post(goPass="wrong", **DAY), 401, "10000", "Invalid Username/Password")
    response = api.post(**DAY)
    error(response, 429, "10429", response.json()["message"])
    assert response.json()["message"].startswith("Too many failed logins; retry after ")
    assert 1 <= int(response.headers["retry-after"]) <= 901
    # Another user from another address is not affected; a good login is never throttled.
    assert api.post(goUser="galonly", **DAY).status_code == 200
    for _ in range(20):
        assert api.post(goUser="galonly", **DAY).status_code == 200


def test_throttle_by_client_address(sqlite_url: str, open_api: Callable[..., ApiHarness]) -> None:
    seed(sqlite_url, users=USERS)
    api = open_api(sqlite_url, login_max_addr_failures=4)
    for name in ("a1", "a2", "a3", "a4"):
        error(
            api.post(goUser=name, goPass="wrong", **DAY), 401, "10000", "Invalid Username/Password"
        )
    assert api.post(**DAY).status_code == 429


def test_http_200_setting_keeps_the_error_body(
    sqlite_url: str, open_api: Callable[..., ApiHarness]
) -> None:
    seed(sqlite_url, users=USERS)
    api = open_api(sqlite_url, http_200=True)
    error(api.post(goPass="wrong"), 200, "10000", "Invalid Username/Password")
    error(api.client.put(API), 200, "10009", "Method not allowed: PUT; use GET or POST")


@pytest.fixture
def broken_db(sqlite_url: str, tmp_path: Path) -> Iterator[ApiHarness]:
    seed(sqlite_url, users=USERS)
    yield from make_harness(sqlite_url, tmp_path)


def test_unreachable_database_is_503_and_nothing_partial(broken_db: ApiHarness) -> None:
    assert broken_db.post(**DAY).status_code == 200  # works, and caches the credentials
    path = broken_db.url.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    Path(path).write_bytes(b"this is not a database" * 100)
    os.chmod(path, 0o000)
    broken_db.client.app.state.api.store._idle.clear()  # type: ignore[attr-defined]
    response = broken_db.post(**DAY)
    error(response, 503, "10007", "The database cannot be reached; try again later")
    ready = broken_db.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable"}
    # Liveness asks no database: the process itself is fine.
    health = broken_db.client.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


def test_unexpected_error_is_500_with_a_request_id(
    sqlite_api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SELECT secret FROM somewhere")

    monkeypatch.setattr(params, "build_request", explode)
    response = sqlite_api.post(**DAY)
    assert response.status_code == 500
    body = response.json()
    request_id = response.headers["x-request-id"]
    assert body == {
        "result": "error",
        "code": "10500",
        "message": f"Internal error (request id {request_id})",
    }
    assert "SELECT" not in response.text


def test_an_error_without_a_wire_code_is_internal_and_logged(
    sqlite_api: ApiHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def misconfigured(*args: object, **kwargs: object) -> None:
        raise ConfigError("cannot open /srv/secret/calls.db")

    monkeypatch.setattr(params, "build_request", misconfigured)
    response = sqlite_api.post(**DAY)
    request_id = response.headers["x-request-id"]
    error(response, 500, "10500", f"Internal error (request id {request_id})")
    assert "secret" not in response.text
    logged = [r for r in caplog.records if r.name == "agentcdr.api"]
    assert [r.getMessage() for r in logged] == [f"unexpected error in request {request_id}"]
    assert "cannot open /srv/secret/calls.db" in caplog.text  # the traceback, for the operator


def test_json_body_multipart_and_basic_auth(sqlite_api: ApiHarness) -> None:
    body = {
        "goAction": "agent_cdr",
        "goUser": "admin",
        "goPass": PASSWORD,
        "responsetype": "json",
        "user": ["EXAMPLE.USER3"],
        "fields": ["call_id"],
        **DAY,
    }
    response = sqlite_api.client.post(API, json=body)
    assert [r["call_id"] for r in response.json()["data"]["rows"]] == ["a5", "a4"]
    multipart = sqlite_api.client.post(
        API,
        files={
            k: (None, str(v))
            for k, v in sqlite_api.params(user="example.user3", fields="call_id", **DAY).items()
        },
    )
    assert [r["call_id"] for r in multipart.json()["data"]["rows"]] == ["a5", "a4"]
    token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    basic = sqlite_api.client.post(
        API,
        data={
            "goAction": "agent_cdr",
            "responsetype": "json",
            "fields": "call_id",
            "user": "example.user3",
            **DAY,
        },
        headers={"Authorization": f"Basic {token}"},
    )
    assert [r["call_id"] for r in basic.json()["data"]["rows"]] == ["a5", "a4"]
    error(
        sqlite_api.client.post(API, content=b"[1,2]", headers={"Content-Type": "application/json"}),
        400,
        "41004",
        "Invalid value for body: the JSON body must be an object",
    )
    error(
        sqlite_api.client.post(API, content=b"{oops", headers={"Content-Type": "application/json"}),
        400,
        "41004",
        "Invalid value for body: the JSON body is not valid JSON",
    )


def test_body_wins_over_query_and_unknown_parameters_warn(sqlite_api: ApiHarness) -> None:
    response = sqlite_api.client.post(
        f"{API}?user=example.user1&responsetype=xml&session_user=admin",
        data=sqlite_api.params(user="example.user3", fields="call_id", **DAY),
    )
    body = response.json()
    assert [r["call_id"] for r in body["data"]["rows"]] == ["a5", "a4"]
    assert body["data"]["meta"]["warnings"] == ["ignored unknown parameter 'session_user'"]


def test_no_credential_in_the_access_log(sqlite_api: ApiHarness) -> None:
    secret = "S3cr3t-never-logged"
    sqlite_api.get(goPass=secret, **DAY)
    sqlite_api.get(**{"goPass": PASSWORD, "log_pass": secret, **DAY})
    sqlite_api.post(goPass=secret)
    token = base64.b64encode(f"admin:{secret}".encode()).decode()
    sqlite_api.client.get(API, headers={"Authorization": f"Basic {token}"})
    log = sqlite_api.log.read_text()
    lines = log.splitlines()
    assert len(lines) == 4
    assert secret not in log
    assert token not in log
    assert PASSWORD not in log
    assert PASSWORD.replace(" ", "+") not in log
    assert "goPass=***" in lines[0]
    assert "log_pass=***" in lines[1]
    assert (
        '"GET /goAPIv2/goReports/goAPI.php?goAction=agent_cdr&goUser=admin&goPass=***' in lines[0]
    )
    assert " 401 " in lines[0]


def test_healthz_needs_no_credentials(sqlite_api: ApiHarness) -> None:
    response = sqlite_api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_throttle_behind_a_proxy_uses_the_address_the_proxy_appended(
    sqlite_url: str, open_api: Callable[..., ApiHarness]
) -> None:
    seed(sqlite_url, users=USERS)
    api = open_api(sqlite_url, login_max_addr_failures=2, trust_proxy=True)

    def attempt(forwarded: str) -> int:
        response = api.client.post(
            API,
            data=api.params(goUser="x" + forwarded, goPass="wrong", **DAY),
            headers={"X-Forwarded-For": forwarded},
        )
        return response.status_code

    # A client forging the first entry is still counted under the proxy's last entry.
    assert attempt("1.1.1.1, 198.51.100.7") == 401
    assert attempt("2.2.2.2, 198.51.100.7") == 401
    assert attempt("3.3.3.3, 198.51.100.7") == 429
    assert attempt("198.51.100.8") == 401


def test_small_reports_come_whole_and_larger_ones_stream(
    sqlite_url: str, open_api: Callable[..., ApiHarness]
) -> None:
    seed(sqlite_url, users=USERS)
    api = open_api(sqlite_url, chunk_rows=4)
    api.client.headers["Accept-Encoding"] = "identity"  # lengths of the body as made
    small = api.post(user="example.user3", **DAY)  # 2 rows: within one chunk
    assert small.headers["content-length"] == str(len(small.content))
    large = api.post(**DAY)  # 6 rows: more than one chunk
    assert "content-length" not in large.headers
    assert len(large.json()["data"]["rows"]) == 6
    exact = api.post(user="example.user2,example.user3", **DAY)  # 4 rows: one full chunk
    assert "content-length" not in exact.headers
    assert len(exact.json()["data"]["rows"]) == 4
