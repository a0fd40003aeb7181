"""/metrics (Prometheus text format) in-process and across the workers of ``agentcdr serve``,
/healthz and /readyz, and the JSON access log."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import API, USERS, ApiHarness
from tests.livserver import serve
from tests.seed import PASSWORD, seed

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client: httpx.Client | object) -> Samples:
    response = client.get("/metrics")  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


@pytest.fixture
def opened(sqlite_url: str, open_api: Callable[..., ApiHarness]) -> Callable[..., ApiHarness]:
    seed(sqlite_url, users=USERS)
    return lambda **settings: open_api(sqlite_url, **settings)


def test_requests_reports_and_logins_are_counted(opened: Callable[..., ApiHarness]) -> None:
    api = opened(login_max_user_failures=2, chunk_rows=2)
    before = scrape(api.client)
    assert api.post(**DAY).status_code == 200  # 6 rows, streamed in chunks of 2
    assert api.post(responsetype="xml", user="example.user3", **DAY).status_code == 200
    summary = api.post(goAction="agent_cdr_summary", groupBy="user", **DAY)
    assert summary.status_code == 200
    for _ in range(2):
        assert api.post(goUser="galonly", goPass="wrong", **DAY).status_code == 401
    assert api.post(goUser="galonly", goPass="wrong", **DAY).status_code == 429
    assert api.post(responsetype="xml", goAction="x").status_code == 404
    after = scrape(api.client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "agentcdr_http_requests_total"
    assert delta(requests, endpoint="api", format="json", status="200") == 2
    assert delta(requests, endpoint="api", format="xml", status="200") == 1
    assert delta(requests, endpoint="api", format="json", status="401") == 2
    assert delta(requests, endpoint="api", format="json", status="429") == 1
    assert delta(requests, endpoint="api", format="xml", status="404") == 1
    assert delta(requests, endpoint="metrics", format="", status="200") == 1  # the first scrape
    assert delta("agentcdr_report_rows_total", action="agent_cdr", format="json") == 6
    assert delta("agentcdr_report_rows_total", action="agent_cdr", format="xml") == 2
    summary_rows = len(summary.json()["data"]["rows"])
    assert delta("agentcdr_report_rows_total", action="agent_cdr_summary", format="json") == (
        summary_rows
    )
    # Bytes as encoded: what an uncompressed answer would have been.
    plain = api.client.post(
        API, data=api.params(**DAY), headers={"Accept-Encoding": "identity"}
    ).content
    assert delta("agentcdr_report_bytes_total", action="agent_cdr", format="json") == len(plain)
    assert delta("agentcdr_report_duration_seconds_count", action="agent_cdr", format="json") == 1
    assert delta("agentcdr_login_failures_total") == 2
    assert delta("agentcdr_rate_limited_requests_total", limit="login") == 1
    assert value(after, "agentcdr_active_streams") == 0
    assert value(after, "agentcdr_store_pool_in_use") == 0
    assert value(after, "agentcdr_store_pool_connections") >= 1


def test_database_errors_are_counted(opened: Callable[..., ApiHarness]) -> None:
    api = opened()
    before = value(scrape(api.client), "agentcdr_database_errors_total")
    assert api.post(**DAY).status_code == 200
    store = api.client.app.state.api.store  # type: ignore[attr-defined]
    path = api.url.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    Path(path).write_bytes(b"this is not a database" * 100)
    store._idle.clear()
    assert api.post(**DAY).status_code == 503
    assert value(scrape(api.client), "agentcdr_database_errors_total") - before == 1
    assert api.client.get("/readyz").status_code == 503
    assert api.client.get("/healthz").status_code == 200


def test_metrics_can_be_turned_off(opened: Callable[..., ApiHarness]) -> None:
    api = opened(metrics=False)
    assert api.client.get("/metrics").status_code == 404


@pytest.mark.socket
def test_counts_add_up_across_workers(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, users=USERS)
    directory = tmp_path / "metrics"
    directory.mkdir()
    stale = directory / "counter_1.db"
    stale.write_bytes(b"left by an earlier run")
    requests = 40
    with serve(
        sqlite_url, tmp_path, "--workers", "2", PROMETHEUS_MULTIPROC_DIR=str(directory)
    ) as base:
        assert not stale.exists()  # emptied at start
        form = {
            "goAction": "agent_cdr",
            "goUser": "admin",
            "goPass": PASSWORD,
            "responsetype": "csv",
            **DAY,
        }
        for _ in range(requests):  # a connection each, so that both workers take some
            with httpx.Client(base_url=base) as client:
                assert client.post(API, data=form).status_code == 200
        answered = {}  # worker -> the API requests it counted
        for path in directory.glob("counter_*.db"):
            counted = sum(
                count
                for key, count, *_ in MmapedDict.read_all_values_from_file(str(path))
                if key.startswith('["agentcdr_http_requests", "agentcdr_http_requests_total"')
                and '"endpoint": "api"' in key
            )
            if counted:
                answered[path.name] = counted
        assert len(answered) == 2, answered  # both workers answered some
        assert sum(answered.values()) == requests
        totals = []
        for _ in range(6):  # whichever worker answers, it counts every worker's requests
            with httpx.Client(base_url=base) as client:
                found = scrape(client)
            totals.append(
                value(
                    found,
                    "agentcdr_http_requests_total",
                    endpoint="api",
                    format="csv",
                    status="200",
                )
            )
            assert value(found, "agentcdr_report_rows_total", action="agent_cdr", format="csv") == (
                6 * requests
            )
        assert totals == [requests] * 6


def test_the_json_access_log_redacts_credentials(
    opened: Callable[..., ApiHarness],
) -> None:
    api = opened(access_log_format="json")
    secret = "S3cr3t-never-logged"
    api.get(goPass=secret, **DAY)
    token = base64.b64encode(f"admin:{secret}".encode()).decode()
    api.client.get(
        API, params={"responsetype": "json"}, headers={"Authorization": f"Basic {token}"}
    )
    api.post(**DAY)
    log = api.log.read_text()
    assert secret not in log
    assert token not in log
    assert PASSWORD not in log
    lines = [json.loads(line) for line in log.splitlines()]
    assert [(e["method"], e["status"], e["user"]) for e in lines] == [
        ("GET", 401, None),
        ("GET", 404, None),
        ("POST", 200, "admin"),
    ]
    first = lines[0]
    assert set(first) == {
        "time", "client", "user", "method", "path", "status", "bytes", "duration_ms", "request_id"
    }  # fmt: skip
    assert first["path"].startswith(f"{API}?goAction=agent_cdr&goUser=admin&goPass=***&")
    assert first["client"] == "203.0.113.9"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["time"])
    assert first["bytes"] > 0
    assert isinstance(first["duration_ms"], float)
    assert len(first["request_id"]) == 16
