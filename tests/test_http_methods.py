"""HEAD like GET without the body, OPTIONS and Allow, the charset of every text answer, and
the security headers of every HTML page."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.asgi import Exchange, exchange, make_app, run
from tests.conftest import API, USERS, ApiHarness
from tests.seed import PASSWORD, seed

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}
# Headers that differ between two answers to the same request.
PER_ANSWER = {"x-request-id", "date", "server"}
FORM = {"goAction": "agent_cdr", "goUser": "admin", "goPass": PASSWORD, **DAY}


@pytest.fixture
def seeded(sqlite_url: str) -> str:
    seed(sqlite_url, users=USERS)
    return sqlite_url


def same_headers(a: Exchange, b: Exchange) -> None:
    assert a.status == b.status
    assert {k: v for k, v in a.headers.items() if k not in PER_ANSWER} == {
        k: v for k, v in b.headers.items() if k not in PER_ANSWER
    }


@pytest.mark.parametrize("coding", ["identity", "gzip"])
@pytest.mark.parametrize(
    ("path", "query"),
    [
        (API, {**FORM, "responsetype": "json"}),  # one piece, with a length
        (API, {**FORM, "responsetype": "csv", "limit": "2"}),
        (API, {**FORM, "responsetype": "xlsx"}),
        (API, {**FORM, "responsetype": "json", "goPass": "wrong"}),  # an error
        (API, {**FORM, "responsetype": "xml", "goAction": "nothing"}),
        ("/", None),
        ("/docs", None),
        ("/openapi.json", None),
        ("/healthz", None),
        ("/readyz", None),
        ("/metrics", None),
        ("/static/report.js", None),
        ("/static/vendor/tabulator.js", None),
        ("/favicon.svg", None),
    ],
)
def test_head_answers_like_get_without_the_body(
    seeded: str, tmp_path: Path, path: str, query: dict[str, str] | None, coding: str
) -> None:
    app = make_app(seeded, tmp_path)
    headers = {"Accept-Encoding": coding}

    async def both() -> tuple[Exchange, Exchange]:
        get = await exchange(app, "GET", path, form=query, headers=headers)
        head = await exchange(app, "HEAD", path, form=query, headers=headers)
        return get, head

    get, head = run(app, both)
    if path == "/metrics":  # the counts moved on with the GET
        get.headers.pop("content-length", None)
        head.headers.pop("content-length", None)
    same_headers(get, head)
    assert get.body
    assert head.chunks == []
    if "content-length" in get.headers and path != "/metrics":
        assert get.headers["content-length"] == str(len(get.body))


def test_head_of_a_streamed_report_stops_after_the_headers(
    seeded: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(seeded, tmp_path, chunk_rows=1)
    # A page (limit): its rows stream one batch (here one row) at a time.
    query = {**FORM, "responsetype": "ndjson", "limit": "100"}

    async def both() -> tuple[Exchange, Exchange]:
        return (
            await exchange(app, "GET", API, form=query),
            await exchange(app, "HEAD", API, form=query),
        )

    with caplog.at_level(logging.WARNING):
        get, head = run(app, both)
    assert len(get.chunks) == 6
    assert "content-length" not in get.headers
    same_headers(get, head)
    assert head.chunks == []
    # The rest of the body is not wanted: no report failed (monitors HEAD reports often).
    assert [r.getMessage() for r in caplog.records] == []


@pytest.mark.parametrize(
    ("root_path", "path"),
    [("", API + "/"), ("/cdr", "/cdr" + API), ("/cdr", "/cdr" + API + "/")],
)
def test_the_api_answers_below_a_prefix_and_with_a_trailing_slash(
    seeded: str, tmp_path: Path, root_path: str, path: str
) -> None:
    # Behind a proxy that serves the app under a prefix (uvicorn --root-path, granian
    # --url-path-prefix), and "goAPI.php/" as Apache runs goAPI.php for it.
    app = make_app(seeded, tmp_path)
    query = {**FORM, "responsetype": "json", "limit": "1"}
    answer = run(app, lambda: exchange(app, "POST", path, form=query, root_path=root_path))
    assert answer.status == 200, answer.body
    assert b'"result":"success"' in answer.body
    other = run(app, lambda: exchange(app, "POST", path + "x", form=query, root_path=root_path))
    assert other.status == 404


def test_options_lists_the_methods(sqlite_api: ApiHarness) -> None:
    response = sqlite_api.client.options(API)
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, POST, HEAD, OPTIONS"
    assert response.content == b""


def test_head_over_the_client(sqlite_api: ApiHarness) -> None:
    response = sqlite_api.client.head(API, params=sqlite_api.params(**DAY))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.content == b""
    wrong = sqlite_api.client.head(API, params=sqlite_api.params(goPass="wrong", **DAY))
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("path", "query", "media"),
    [
        (API, {**FORM, "responsetype": "json"}, "application/json"),
        (API, {**FORM, "responsetype": "xml"}, "application/xml"),
        (API, {**FORM, "responsetype": "csv"}, "text/csv"),
        (API, {**FORM, "responsetype": "ndjson"}, "application/x-ndjson"),
        (API, {**FORM, "responsetype": "json", "goPass": "x"}, "application/json"),
        (API, {**FORM, "responsetype": "xml", "goPass": "x"}, "application/xml"),
        (
            API,
            {**FORM, "responsetype": "json", "goAction": "agent_cdr_summary", "groupBy": "user"},
            "application/json",
        ),
        ("/", None, "text/html"),
        ("/docs", None, "text/html"),
        ("/openapi.json", None, "application/json"),
        ("/healthz", None, "application/json"),
        ("/readyz", None, "application/json"),
        ("/metrics", None, "text/plain"),
        ("/static/report.js", None, "text/javascript"),
        ("/static/report.css", None, "text/css"),
    ],
)
def test_every_text_answer_names_its_charset(
    sqlite_api: ApiHarness, path: str, query: dict[str, str] | None, media: str
) -> None:
    response = sqlite_api.client.get(path, params=query)
    kind, *parameters = (p.strip() for p in response.headers["content-type"].split(";"))
    assert kind == media
    assert "charset=utf-8" in parameters


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_every_html_page_has_its_security_headers(sqlite_api: ApiHarness, path: str) -> None:
    response = sqlite_api.client.get(path)
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", [API, "/healthz", "/static/report.js", "/nothing"])
def test_every_answer_says_nosniff(sqlite_api: ApiHarness, path: str) -> None:
    response = sqlite_api.client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
