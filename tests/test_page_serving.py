"""How the app serves the report page (in-process; tests/browser/ drives it in Chromium):
the page and its files, its security headers, the favicon, and the exports' file names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ApiHarness

STATIC = Path(__file__).parent.parent / "agentcdr" / "web" / "static"
DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}


def test_report_page_is_served(sqlite_api: ApiHarness) -> None:
    page = sqlite_api.client.get("/")
    assert page.status_code == 200
    assert "/goAPIv2/goReports/goAPI.php" in sqlite_api.client.get("/static/api.js").text
    assert "<form" in page.text


def test_the_page_has_its_policy_and_every_response_nosniff(sqlite_api: ApiHarness) -> None:
    page = sqlite_api.client.get("/")
    policy = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'self'"
    assert page.headers["x-content-type-options"] == "nosniff"
    for path in ("/static/report.js", "/favicon.svg", "/healthz"):
        response = sqlite_api.client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in response.headers  # not HTML


def test_the_api_answers_nosniff_and_no_page_policy(sqlite_api: ApiHarness) -> None:
    response = sqlite_api.post(**DAY)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


def test_the_page_loads_only_its_own_files() -> None:
    html = (STATIC / "index.html").read_text()
    assert "http://" not in html
    assert "https://" not in html
    assert "<script>" not in html
    assert "style=" not in html
    for script in STATIC.glob("*.js"):
        text = script.read_text()
        assert "http://" not in text, script.name
        assert "https://" not in text, script.name


@pytest.mark.parametrize("path", ["/favicon.svg", "/favicon.ico"])
def test_favicon(sqlite_api: ApiHarness, path: str) -> None:
    response = sqlite_api.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text.startswith("<svg")


def test_the_built_libraries_are_served(sqlite_api: ApiHarness) -> None:
    manifest = STATIC / "vendor" / "manifest.json"
    assert manifest.exists(), "the page's libraries are not built: run `make page`"
    for name, entry in json.loads(manifest.read_text()).items():
        for file in entry["files"]:
            response = sqlite_api.client.get(f"/static/vendor/{file}")
            assert response.status_code == 200, (name, file)


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_exports_are_attachments_named_by_their_range(sqlite_api: ApiHarness, fmt: str) -> None:
    response = sqlite_api.post(responsetype=fmt, fromDate="2025-05-12", toDate="2025-05-13")
    assert response.status_code == 200
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="agent_cdr_2025-05-12_2025-05-13.{fmt}"'
    )


def test_an_open_ended_export_is_named_by_its_effective_range(sqlite_api: ApiHarness) -> None:
    response = sqlite_api.post(responsetype="csv", toDate="2025-05-13")
    assert (
        'filename="agent_cdr_2025-05-13_2025-05-13.csv"' in response.headers["content-disposition"]
    )


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_json_and_xml_are_not_attachments(sqlite_api: ApiHarness, fmt: str) -> None:
    response = sqlite_api.post(responsetype=fmt, **DAY)
    assert "content-disposition" not in response.headers


def test_an_export_error_is_no_attachment(sqlite_api: ApiHarness) -> None:
    response = sqlite_api.post(responsetype="csv", goPass="wrong", **DAY)
    assert response.status_code == 401
    assert "content-disposition" not in response.headers
