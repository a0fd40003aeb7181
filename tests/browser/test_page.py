"""The report page in a real browser: sign-in, paging by scrolling, sorting, columns, the
filters in the URL, cancelled queries, errors, loading, the security headers, nothing loaded
from elsewhere, the exports (CSV, NDJSON, Excel) and their errors, the keyboard and a
phone-sized screen. The summary panel, pick-lists, searches and text-only values are in
test_page_summary.py."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from openpyxl import load_workbook

from tests.browser.chromium import (
    API_PATH,
    api_requests,
    cells,
    chosen,
    rendered_rows,
    screenshot,
    scroll_to_end,
    settled,
    sign_in,
    status,
)
from tests.browser.seeded import DAY, DAY_CALLS, DAY_VIEW
from tests.seed import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.socket

LOADING = "() => document.getElementById('status').textContent === 'Loading…'"
BUTTONS = ("Show", "Export CSV", "Export NDJSON", "Export Excel")


def agents_box(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("combobox", name="Agents")


def test_sign_in_shows_the_newest_rows_and_keeps_the_password_in_memory(
    base: str, page: Page
) -> None:
    sent = api_requests(page)
    summaries = api_requests(page, "agent_cdr_summary")
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    # The total comes from the summary.
    assert status(page) == (
        f"200 of {DAY_CALLS} calls shown, {DAY} 00:00:00 to {DAY} 23:59:59 (America/New_York);"
        " scroll for more."
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
    assert all(r["goPass"] == [PASSWORD] for r in [*sent, *summaries])
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
        "response",
        lambda r: (
            answers.append(r.json())
            if urlsplit(r.url).path == API_PATH
            and "goAction=agent_cdr&" in (r.request.post_data or "")
            else None
        ),
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
    page.get_by_role("checkbox", name="PHONE NUMBER").uncheck()
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
    assert not page.get_by_role("checkbox", name="PHONE NUMBER").is_checked()
    page.get_by_role("checkbox", name="PHONE NUMBER").check()
    assert phone.is_visible()
    assert "hide=" not in page.url


def test_the_header_stays_in_view_while_the_rows_scroll(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    header = page.locator("#grid .tabulator-header")
    first_row = page.locator("#grid .tabulator-row").first.inner_text()
    page.hover("#grid .tabulator-tableholder")  # (brings the grid into view)
    before = header.bounding_box()
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
    agents_box(page).fill("Example.User2")
    agents_box(page).press("Enter")  # picks what was typed, and runs the report
    settled(page)
    page.get_by_label("Call type", exact=True).select_option("DIALER")  # a change runs it too
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
    assert chosen(page, "Agents") == ["Example.User2"]
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
    agents_box(page).fill("Example.User3")
    agents_box(page).press("Enter")
    page.wait_for_function(LOADING)
    assert len(held) == 1
    page.get_by_role("button", name="Remove Example.User3").click()
    agents_box(page).fill("Example.User1")
    agents_box(page).press("Enter")
    settled(page)
    assert set(cells(page, "user")) == {"Example.User1"}
    # The older answer now arrives: it was cancelled, and nothing of it is shown, in the
    # table or in the summary.
    response = held[0].fetch()
    with contextlib.suppress(Exception):
        held[0].fulfill(response=response)
    page.wait_for_timeout(300)
    assert set(cells(page, "user")) == {"Example.User1"}
    assert status(page).startswith("200 of 217 calls shown")
    assert page.locator("#agents tbody th").all_inner_texts() == ["Example.User1"]
    assert any("Example.User3" in body for body in failed)


def test_an_error_clears_the_rows_and_says_what_to_fix(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    assert rendered_rows(page) > 0
    assert page.locator("#agents tbody tr").count() == 3
    tenants = page.get_by_role("combobox", name="Tenants")
    tenants.fill("GALX")
    tenants.press("Enter")
    settled(page)
    assert "error" in (page.get_attribute("#status", "class") or "")
    message = status(page)
    assert "tenant" in message
    assert "Correct that filter" in message
    assert rendered_rows(page) == 0
    assert page.inner_text("#grid .placeholder") == message
    assert page.get_by_role("button", name="Export CSV").is_disabled()
    # Nor does the summary of the last good query stay.
    assert page.locator("#agents tbody tr").count() == 0
    assert page.inner_text("#panel-totals") == ""
    assert page.locator("#panel canvas").count() == 0
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
    page.wait_for_function(LOADING)
    assert page.locator("#status.busy").is_visible()  # with its spinning mark
    for name in BUTTONS:
        assert page.get_by_role("button", name=name).is_disabled()
    assert page.get_attribute("#grid", "aria-busy") == "true"
    assert page.get_attribute("#report", "aria-busy") == "true"
    assert page.inner_text("#panel-status") == "Summing up…"
    held[0].continue_()
    page.unroute(f"**{API_PATH}")
    settled(page)
    for name in BUTTONS:
        assert page.get_by_role("button", name=name).is_enabled()
    assert page.get_attribute("#grid", "aria-busy") == "false"
    assert page.is_hidden("#panel-status")


def test_the_page_is_served_with_its_security_headers(base: str) -> None:
    page = httpx.get(f"{base}/")
    assert page.headers["content-security-policy"].startswith(
        "default-src 'self'; script-src 'self';"
    )
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "unsafe" not in page.headers["content-security-policy"]  # no inline code, no eval
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
    here = urlsplit(base).netloc
    hosts: set[str] = set()
    refused: list[str] = []

    def only_here(route) -> None:  # type: ignore[no-untyped-def]
        if urlsplit(route.request.url).netloc == here:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    # Everything the page has shows: the grid, the charts, a pick-list's choices.
    assert page.locator("#panel canvas").count() == 2
    agents_box(page).click()
    assert page.get_by_role("listbox", name="Agents: choices").get_by_role("option").count() == 3
    assert refused == []
    assert hosts == {here}


@pytest.mark.parametrize(
    ("fmt", "button"), [("csv", "CSV"), ("ndjson", "NDJSON"), ("xlsx", "Excel")]
)
def test_exports_download_the_whole_range_straight_from_the_api(
    base: str, page: Page, tmp_path: Path, fmt: str, button: str
) -> None:
    sign_in(page, base, "admin", PASSWORD, f"{DAY_VIEW}&order=asc")
    assert page.inner_text("#panel-totals").startswith(f"{DAY_CALLS} calls")
    sent = api_requests(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name=f"Export {button}").click()
    download = download_info.value
    assert download.suggested_filename == f"agent_cdr_{DAY}_{DAY}.{fmt}"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    # Every call of the range (as many as the summary counts), in the order shown.
    if fmt == "csv":
        lines = saved.read_text().splitlines()
        assert lines[0].startswith("user,answer_time,")
        assert len(lines) == 1 + DAY_CALLS
        assert lines[1].split(",")[1] == f"{DAY} 08:00:00"
    elif fmt == "ndjson":
        lines = saved.read_text().splitlines()
        assert len(lines) == DAY_CALLS
        assert json.loads(lines[0])["answer_time"] == f"{DAY} 08:00:00"
    else:
        workbook = load_workbook(saved, read_only=True)
        rows = list(workbook.active.iter_rows(values_only=True))
        workbook.close()
        assert rows[0][:2] == ("USER", "ANSWER TIME")
        assert len(rows) == 1 + DAY_CALLS
        assert str(rows[1][1]) == f"{DAY} 08:00:00"
    assert sent[-1]["responsetype"] == [fmt]
    assert sent[-1].get("csvFormulas") == (["neutralize"] if fmt == "csv" else None)
    assert "limit" not in sent[-1]
    assert "cursor" not in sent[-1]
    assert page.url.startswith(f"{base}/?")  # the page stayed
    assert rendered_rows(page) > 0
    assert page.inner_text("#export-note") == (
        "Writing the Excel file: your browser saves it when it is complete (a long range takes a while)."
        if fmt == "xlsx"
        else "Your browser saves the file as it arrives."
    )


def test_a_range_too_long_for_an_excel_sheet_offers_csv(base: str, page: Page) -> None:
    """The summary counts the range before anyone asks for a workbook the API would refuse
    (its own refusal is tested in tests/test_api_summary.py; a store of a million calls is
    too big for this suite, so the summary's count is raised on its way)."""

    def count_two_million(route) -> None:  # type: ignore[no-untyped-def]
        body = route.request.post_data or ""
        if "agent_cdr_summary" not in body or "groupBy%5B%5D=disposition" not in body:
            route.continue_()
            return
        answer = route.fetch().json()
        answer["data"]["meta"]["totals"]["calls"] = 2_000_000
        route.fulfill(json=answer)

    page.route(f"**{API_PATH}", count_two_million)
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    assert status(page).startswith("200 of 2,000,000 calls shown")
    assert page.get_by_role("button", name="Export Excel").is_disabled()
    assert page.get_by_role("button", name="Export CSV").is_enabled()
    assert page.inner_text("#export-note") == (
        "An Excel sheet holds 1,048,575 rows, fewer than these calls: export CSV, or narrow"
        " the range."
    )


def test_a_failed_export_says_why_and_the_page_stays(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    too_long = {
        "result": "error",
        "code": "41004",
        "message": "Invalid value for responsetype: an Excel sheet holds at most 1,048,575 rows"
        " and this report has more: choose a shorter range, or csv",
    }

    def refuse_exports(route) -> None:  # type: ignore[no-untyped-def]
        if "responsetype=xlsx" in (route.request.post_data or ""):
            route.fulfill(status=400, json=too_long)
        else:
            route.continue_()

    page.route(f"**{API_PATH}", refuse_exports)
    page.get_by_role("button", name="Export Excel").click()
    page.locator("#export-note.error").wait_for()
    assert page.inner_text("#export-note") == (
        "Export failed: Invalid value for responsetype: an Excel sheet holds at most 1,048,575"
        " rows and this report has more: choose a shorter range, or csv. Correct that filter"
        " and show the report again."
    )
    assert page.locator("#report").is_visible()  # still signed in, the rows still there
    assert rendered_rows(page) > 0


def test_everything_works_with_the_keyboard_alone(base: str, page: Page) -> None:
    page.goto(f"{base}/{DAY_VIEW}")
    page.keyboard.press("Tab")  # the first control is the user name
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    settled(page)
    assert status(page).startswith(f"200 of {DAY_CALLS} calls shown")
    sent = api_requests(page)

    def tab_to(selector: str) -> None:
        for _ in range(80):
            if page.evaluate(f"document.activeElement.matches({json.dumps(selector)})"):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {selector}")

    # A pick-list: type, move to a choice, pick it; Backspace takes it back.
    tab_to("#f-user")
    page.keyboard.type("user2")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    settled(page)
    assert sent[-1]["user[]"] == ["Example.User2"]
    page.keyboard.press("Backspace")
    settled(page)
    assert "user[]" not in sent[-1]

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
    # An agent of the summary (most calls first): their calls, and the focus on them.
    tab_to("#agents tbody button")
    page.keyboard.press("Enter")
    settled(page)
    assert sent[-1]["user[]"] == ["Example.User1"]
    assert page.evaluate("document.activeElement.matches('#grid .tabulator-tableholder')")
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
        for part in (
            "#panel",
            "#panel canvas >> nth=0",
            "#panel canvas >> nth=1",
            "#panel .scroll",
        ):
            box = page.locator(part).bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= 390, part
        screenshot(page, "phone")
        page.locator("#panel").scroll_into_view_if_needed()
        screenshot(page, "phone-summary")
        page.locator("#grid").scroll_into_view_if_needed()
        screenshot(page, "phone-grid")
