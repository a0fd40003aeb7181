"""The report page in a real browser: sign-in, paging by scrolling, sorting, columns, the
filters in the URL, cancelled queries, errors, text-only values, the exports, the keyboard
and a phone-sized screen."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.browser.chromium import (
    API_PATH,
    rendered_rows,
    screenshot,
    scroll_to_end,
    settled,
    sign_in,
)
from tests.browser.conftest import Watched
from tests.livserver import serve
from tests.seed import PASSWORD, call, seed

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request

pytestmark = pytest.mark.socket

DAY = "2025-05-13"
DAY_VIEW = f"?preset=custom&fromDate={DAY}&toDate={DAY}"
DAY_CALLS = 650  # more than three of the page's pages (200 rows each)
AGENTS = ("Example.User1", "Example.User2", "Example.User3")
XSS = '<img src=x onerror="window.__xss = 1">'


def day_calls() -> list:  # type: ignore[type-arg]
    start = datetime.strptime(f"{DAY} 08:00:00", "%Y-%m-%d %H:%M:%S")
    return [
        call(
            f"d{i}",
            AGENTS[i % 3],
            (start + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S"),
            "GALSERVERS" if i % 2 else "CSCCOLLECTIONS",
            call_type="DIALER" if i % 2 else "MANUAL",
            phone=f"555{i:07d}",
        )
        for i in range(DAY_CALLS)
    ]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("page")
    url = f"sqlite:///{tmp / 'calls.db'}"
    calls = [
        *day_calls(),
        call("x1", "Example.User1", "2025-05-14 09:30:00", "GALSERVERS", disposition=XSS),
    ]
    seed(url, calls, users={"admin": None})
    with serve(url, tmp) as base_url:
        yield base_url


@pytest.fixture
def page(tab: Watched) -> Page:
    return tab.page


def api_requests(page: Page) -> list[dict[str, list[str]]]:
    """The parameters of every report request the page sends from now on."""
    sent: list[dict[str, list[str]]] = []

    def record(request: Request) -> None:
        if urlsplit(request.url).path == API_PATH:
            assert "goPass" not in request.url
            sent.append(parse_qs(request.post_data or ""))

    page.on("request", record)
    return sent


def cells(page: Page, field: str) -> list[str]:
    return page.locator(
        f'#grid .tabulator-row .tabulator-cell[tabulator-field="{field}"]'
    ).all_inner_texts()


def status(page: Page) -> str:
    return page.inner_text("#status")


def test_sign_in_shows_the_newest_rows_and_keeps_the_password_in_memory(
    base: str, page: Page
) -> None:
    sent = api_requests(page)
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    assert status(page).startswith(
        f"200 calls shown, {DAY} 00:00:00 to {DAY} 23:59:59 (America/New_York)"
    )
    times = cells(page, "answer_time")
    assert times[0] == f"{DAY} 18:49:00"  # the newest call first
    assert times == sorted(times, reverse=True)
    assert page.inner_text("#who").startswith("Signed in as admin")
    # Only in memory: not in the URL, the form, storage or cookies; sent in POST bodies.
    assert PASSWORD not in page.url
    assert page.get_by_label("Password").input_value() == ""
    stored = page.evaluate("JSON.stringify([localStorage, sessionStorage, document.cookie])")
    assert PASSWORD not in stored
    assert page.context.cookies() == []
    assert all(r["goPass"] == [PASSWORD] for r in sent)
    assert sent[-1]["fromDate"] == [DAY]
    assert sent[-1]["limit"] == ["200"]
    screenshot(page, "signed-in")


def test_a_wrong_password_says_so_and_shows_no_report(base: str, page: Page) -> None:
    page.goto(f"{base}/")
    page.get_by_label("API user").fill("admin")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.locator("#signin-status")
    alert.filter(has_text="not accepted").wait_for()
    assert alert.inner_text() == "Sign in again: the user name or password was not accepted."
    assert page.locator("#report").is_hidden()


def test_sign_out_forgets_the_credentials(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    page.get_by_role("button", name="Sign out").click()
    assert page.locator("#signin").is_visible()
    assert page.locator("#report").is_hidden()
    sent = api_requests(page)
    page.get_by_label("API user").fill("admin")
    page.get_by_label("Password").fill("another")
    page.get_by_role("button", name="Sign in").click()
    page.locator("#signin-status").filter(has_text="not accepted").wait_for()
    assert sent[0]["goPass"] == ["another"]


def test_scrolling_loads_the_next_pages_by_cursor(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    sent = api_requests(page)
    answers: list[dict] = []  # type: ignore[type-arg]
    page.on(
        "response", lambda r: answers.append(r.json()) if urlsplit(r.url).path == API_PATH else None
    )
    while not status(page).startswith(f"{DAY_CALLS} calls"):
        scroll_to_end(page)
        page.wait_for_timeout(50)
        settled(page)
    assert len(sent) == 3  # pages 2, 3 and 4 (the last, 50 rows)
    assert all(r["limit"] == ["200"] for r in sent)
    # Each page continues from the cursor of the one before.
    cursors = [r["cursor"][0] for r in sent]
    assert len(set(cursors)) == 3
    assert [a["data"].get("next_cursor") for a in answers] == [*cursors[1:], None]
    # Every call is loaded once; only those near the view are in the document.
    scroll_to_end(page)
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#grid .tabulator-cell[tabulator-field=answer_time]')]"
        f".some((c) => c.textContent === '{DAY} 08:00:00')"
    )  # the oldest call, at the end
    assert 0 < rendered_rows(page) < 100


def test_the_order_goes_to_the_server(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    sent = api_requests(page)
    header = page.locator('#grid .tabulator-col[tabulator-field="answer_time"]')
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    settled(page)
    assert sent[-1]["order"] == ["asc"]
    assert cells(page, "answer_time")[0] == f"{DAY} 08:00:00"
    assert header.get_attribute("aria-sort") == "ascending"
    assert "order=asc" in page.url
    assert page.get_by_label("Order").input_value() == "asc"
    page.get_by_label("Order").select_option("desc")
    settled(page)
    assert sent[-1]["order"] == ["desc"]
    assert cells(page, "answer_time")[0] == f"{DAY} 18:49:00"


def test_columns_hide_and_show_and_the_choice_is_kept_in_the_url(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    phone = page.locator('#grid .tabulator-col[tabulator-field="phone_number"]')
    assert phone.is_visible()
    page.get_by_text("Columns").click()
    page.get_by_label("PHONE NUMBER").uncheck()
    assert phone.is_hidden()
    assert (
        cells(page, "phone_number") == []
        or not page.locator(
            '#grid .tabulator-cell[tabulator-field="phone_number"]'
        ).first.is_visible()
    )
    assert "hide=phone_number" in page.url
    page.reload()
    sign_in(
        page, base, "admin", PASSWORD, urlsplit(page.url).query and f"?{urlsplit(page.url).query}"
    )
    assert phone.is_hidden()
    page.get_by_text("Columns").click()
    assert not page.get_by_label("PHONE NUMBER").is_checked()
    page.get_by_label("PHONE NUMBER").check()
    assert phone.is_visible()
    assert "hide=" not in page.url


def test_the_header_stays_in_view_while_the_rows_scroll(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    header = page.locator("#grid .tabulator-header")
    before = header.bounding_box()
    first_row = page.locator("#grid .tabulator-row").first.inner_text()
    page.hover("#grid .tabulator-tableholder")
    page.mouse.wheel(0, 1500)
    page.wait_for_function(
        "() => document.querySelector('#grid .tabulator-tableholder').scrollTop > 1000"
    )
    assert header.bounding_box() == before
    assert header.is_visible()
    top_row = page.evaluate(
        """() => { const h = document.querySelector('#grid .tabulator-header').getBoundingClientRect();
        return document.elementFromPoint(h.left + 20, h.bottom + 5).closest('.tabulator-row').innerText; }"""
    )
    assert top_row != first_row


def test_the_filters_live_in_the_url_and_a_reload_restores_them(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    sent = api_requests(page)
    page.get_by_label("Agents").fill("Example.User2")
    page.get_by_label("Call type", exact=True).select_option("DIALER")  # a change runs the report
    settled(page)
    query = parse_qs(urlsplit(page.url).query)
    assert query == {
        "preset": ["custom"],
        "fromDate": [DAY],
        "toDate": [DAY],
        "call_type": ["DIALER"],
        "user": ["Example.User2"],
    }
    assert "goUser" not in page.url
    assert "goPass" not in page.url
    assert set(cells(page, "user")) == {"Example.User2"}
    assert set(cells(page, "call_type")) == {"DIALER"}
    assert sent[-1]["user[]"] == ["Example.User2"]
    assert sent[-1]["call_type"] == ["DIALER"]

    shared = page.url
    page.goto("about:blank")
    sent.clear()
    sign_in(page, base, "admin", PASSWORD, f"?{urlsplit(shared).query}")
    assert page.get_by_label("Agents").input_value() == "Example.User2"
    assert page.get_by_label("Call type", exact=True).input_value() == "DIALER"
    assert page.get_by_label("From").input_value() == DAY
    assert page.get_by_label("Range").input_value() == "custom"
    assert sent[-1]["user[]"] == ["Example.User2"]
    assert set(cells(page, "user")) == {"Example.User2"}


def test_a_preset_range_is_resolved_in_the_chosen_zone(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, "?preset=yesterday&tz=Pacific/Kiritimati")
    sent = api_requests(page)
    yesterday = page.evaluate(
        """() => { const d = new Date(new Date().toLocaleString("en-US", {timeZone: "Pacific/Kiritimati"}));
        d.setDate(d.getDate() - 1);
        return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`; }"""
    )
    assert page.get_by_label("From").input_value() == yesterday
    assert page.get_by_label("To").input_value() == yesterday
    page.get_by_label("Range").select_option("last7")
    settled(page)
    assert sent[-1]["toDate"] == [page.get_by_label("To").input_value()]
    assert sent[-1]["tz"] == ["Pacific/Kiritimati"]
    assert "preset=last7" in page.url
    assert "fromDate" not in page.url


def test_a_newer_query_wins_over_an_older_answer_that_arrives_last(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    held: list = []  # type: ignore[type-arg]

    def hold_user3(route) -> None:  # type: ignore[no-untyped-def]
        if "Example.User3" in (route.request.post_data or ""):
            held.append(route)  # answered only after the newer query's rows are shown
        else:
            route.continue_()

    page.route(f"**{API_PATH}", hold_user3)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.post_data or ""))
    page.get_by_label("Agents").fill("Example.User3")
    page.get_by_label("Agents").press("Enter")
    page.wait_for_function("() => document.getElementById('status').textContent === 'Loading…'")
    assert len(held) == 1
    page.get_by_label("Agents").fill("Example.User1")
    page.get_by_label("Agents").press("Enter")
    settled(page)
    assert set(cells(page, "user")) == {"Example.User1"}
    # The older answer now arrives: it was cancelled, and nothing of it is shown.
    response = held[0].fetch()
    with contextlib.suppress(Exception):
        held[0].fulfill(response=response)
    page.wait_for_timeout(300)
    assert set(cells(page, "user")) == {"Example.User1"}
    assert status(page).startswith("200 calls shown")
    assert any("Example.User3" in body for body in failed)


def test_an_error_clears_the_rows_and_says_what_to_fix(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    assert rendered_rows(page) > 0
    page.get_by_label("Tenants").fill("GALX")
    page.get_by_label("Tenants").press("Enter")
    settled(page)
    assert "error" in (page.get_attribute("#status", "class") or "")
    message = status(page)
    assert "tenant" in message
    assert "Correct that filter" in message
    assert rendered_rows(page) == 0
    assert page.inner_text("#grid .placeholder") == message
    assert page.get_by_role("button", name="Export CSV").is_disabled()
    screenshot(page, "error")


def test_a_failed_later_page_clears_the_rows_too(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    unavailable = {"result": "error", "code": "10007", "message": "The database is unavailable"}

    def fail_next_pages(route) -> None:  # type: ignore[no-untyped-def]
        if "cursor=" in (route.request.post_data or ""):
            route.fulfill(status=503, json=unavailable)
        else:
            route.continue_()

    page.route(f"**{API_PATH}", fail_next_pages)
    scroll_to_end(page)
    page.locator("#status.error").wait_for()
    assert status(page) == "The database is unavailable. Try again later."
    assert rendered_rows(page) == 0
    assert page.get_by_role("button", name="Export CSV").is_disabled()


def test_an_empty_result_says_so(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, "?preset=custom&fromDate=2024-01-01&toDate=2024-01-02")
    assert status(page).startswith("No calls match these filters from 2024-01-01 00:00:00")
    assert rendered_rows(page) == 0
    assert page.locator("#grid .placeholder").is_visible()
    assert page.get_by_role("button", name="Export CSV").is_disabled()


def test_buttons_are_disabled_and_loading_is_shown_while_a_request_runs(
    base: str, page: Page
) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    held: list = []  # type: ignore[type-arg]

    def hold(route) -> None:  # type: ignore[no-untyped-def]
        held.append(route)  # (a bound method will not do: Playwright tags the handler)

    page.route(f"**{API_PATH}", hold)
    page.get_by_label("Call type", exact=True).select_option("MANUAL")
    page.wait_for_function("() => document.getElementById('status').textContent === 'Loading…'")
    for name in ("Show", "Export CSV", "Export NDJSON"):
        assert page.get_by_role("button", name=name).is_disabled()
    assert page.get_attribute("#grid", "aria-busy") == "true"
    held[0].continue_()
    page.unroute(f"**{API_PATH}")
    settled(page)
    for name in ("Show", "Export CSV", "Export NDJSON"):
        assert page.get_by_role("button", name=name).is_enabled()
    assert page.get_attribute("#grid", "aria-busy") == "false"


def test_values_render_as_text_never_as_html(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, "?preset=custom&fromDate=2025-05-14&toDate=2025-05-14")
    assert cells(page, "disposition") == [XSS]
    assert page.locator("#grid img").count() == 0
    assert page.evaluate("window.__xss") is None


def test_the_page_is_served_with_its_security_headers(base: str) -> None:
    page = httpx.get(f"{base}/")
    assert page.headers["content-security-policy"].startswith(
        "default-src 'self'; script-src 'self';"
    )
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/static/report.js"></script>' in page.text
    assert "<script>" not in page.text  # no inline script: the policy would refuse it
    icon = httpx.get(f"{base}/favicon.svg")
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")
    assert (
        httpx.get(f"{base}/static/vendor/tabulator.js").headers["x-content-type-options"]
        == "nosniff"
    )


def test_the_page_loads_nothing_from_elsewhere(base: str, page: Page) -> None:
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    assert hosts == {urlsplit(base).netloc}


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_exports_download_the_whole_range_straight_from_the_api(
    base: str, page: Page, tmp_path: Path, fmt: str
) -> None:
    sign_in(page, base, "admin", PASSWORD, f"{DAY_VIEW}&order=asc")
    sent = api_requests(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name=f"Export {fmt.upper()}").click()
    download = download_info.value
    assert download.suggested_filename == f"agent_cdr_{DAY}_{DAY}.{fmt}"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    lines = saved.read_text().splitlines()
    if fmt == "csv":
        assert lines[0].startswith("user,answer_time,")
        assert len(lines) == 1 + DAY_CALLS
        assert lines[1].split(",")[1] == f"{DAY} 08:00:00"  # the order shown
    else:
        assert len(lines) == DAY_CALLS
        assert json.loads(lines[0])["answer_time"] == f"{DAY} 08:00:00"
    assert sent[-1]["responsetype"] == [fmt]
    assert sent[-1].get("csvFormulas") == (["neutralize"] if fmt == "csv" else None)
    assert "limit" not in sent[-1]
    assert "cursor" not in sent[-1]
    assert page.url.startswith(f"{base}/?")  # the page stayed
    assert rendered_rows(page) > 0


def test_everything_works_with_the_keyboard_alone(base: str, page: Page) -> None:
    page.goto(f"{base}/{DAY_VIEW}")
    page.keyboard.press("Tab")  # the first control is the user name
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    settled(page)
    assert status(page).startswith("200 calls shown")
    sent = api_requests(page)

    def tab_to(selector: str) -> None:
        for _ in range(40):
            if page.evaluate(f"document.activeElement.matches({json.dumps(selector)})"):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("select[name=call_type]")
    page.keyboard.press("ArrowDown")  # Any -> MANUAL
    settled(page)
    assert sent[-1]["call_type"] == ["MANUAL"]
    tab_to('#grid .tabulator-col[tabulator-field="answer_time"]')
    page.keyboard.press("Enter")
    settled(page)
    assert sent[-1]["order"] == ["asc"]
    tab_to("#grid .tabulator-tableholder")
    for _ in range(4):
        page.keyboard.press("End")
        page.wait_for_timeout(100)
        settled(page)
    assert status(page).startswith("325 calls")  # every MANUAL call, loaded by scrolling
    tab_to("#columns summary")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # hides the first column
    assert page.locator('#grid .tabulator-col[tabulator-field="user"]').is_hidden()
    tab_to("#export-csv")
    with page.expect_download() as download_info:
        page.keyboard.press("Enter")
    assert download_info.value.suggested_filename.endswith(".csv")


def test_a_phone_sized_screen_needs_no_sideways_scrolling(base: str, browser) -> None:  # type: ignore[no-untyped-def]
    from tests.browser.conftest import open_page

    for tab in open_page(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    ):
        page = tab.page
        sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for label in ("Range", "Agents", "Call type"):
            box = page.get_by_label(label, exact=True).bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= 390
        grid = page.locator("#grid").bounding_box()
        assert grid is not None
        assert grid["width"] <= 390
        assert grid["height"] > 300
        assert rendered_rows(page) > 0
        screenshot(page, "phone")
        page.locator("#grid").scroll_into_view_if_needed()
        screenshot(page, "phone-grid")
