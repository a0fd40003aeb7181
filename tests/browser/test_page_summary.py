"""The report page's summary panel, pick-lists and searches in a real browser: the totals
and charts of the filtered range, an agent chosen from the summary, the choices of the
range with type-ahead, one phone or loan number, and values that stay text everywhere."""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.chromium import (
    api_requests,
    cells,
    chosen,
    screenshot,
    settled,
    sign_in,
    status,
)
from tests.browser.seeded import (
    DAY,
    DAY_CALLS,
    DAY_VIEW,
    XSS,
    XSS_AGENT,
    XSS_DAY,
    day_calls,
)
from tests.seed import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.socket

TWO_DAYS = f"?preset=custom&fromDate={DAY}&toDate={XSS_DAY}"


def hms(seconds: float) -> str:
    """H:MM:SS, rounded as the page rounds (half up)."""
    whole = int(Decimal(seconds).quantize(Decimal(1), ROUND_HALF_UP))
    return f"{whole // 3600:,}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def percent(part: int, whole: int) -> str:
    value = (Decimal(100 * part) / whole).quantize(Decimal("0.1"), ROUND_HALF_UP).normalize()
    return f"{value:f}%"


def table(page: Page, selector: str) -> list[list[str]]:
    rows = page.locator(f"{selector} tbody tr")
    return [row.locator("th, td").all_inner_texts() for row in rows.all()]


def options(page: Page, label: str) -> list[str]:
    """Opens the pick-list ``label`` and returns its choices as shown (value and calls)."""
    box = page.get_by_role("combobox", name=label)
    box.click()
    listbox = page.get_by_role("listbox", name=f"{label}: choices")
    texts = [" ".join(t.split()) for t in listbox.get_by_role("option").all_inner_texts()]
    box.press("Escape")
    return texts


def test_the_summary_panel_sums_up_the_filtered_range(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    calls = day_calls()
    talk = sum(c.call_duration_sec or 0 for c in calls)
    assert page.inner_text("#panel-totals") == (
        f"{DAY_CALLS} calls, talk time {hms(talk)} ({hms(talk / DAY_CALLS)} a call), 3 agents"
    )
    # Per agent, most calls first: calls, talk time in total and on average, and their
    # dispositions in counts and shares (three, then the others summed).
    expected = []
    for agent in ("Example.User1", "Example.User2", "Example.User3"):
        mine = [c for c in calls if c.user == agent]
        seconds = sum(c.call_duration_sec or 0 for c in mine)
        ranked = sorted(Counter(c.disposition for c in mine).items(), key=lambda d: (-d[1], d[0]))
        parts = [f"{name} {n} ({percent(n, len(mine))})" for name, n in ranked[:3]]
        rest = sum(n for _, n in ranked[3:])
        parts.append(f"1 other {rest} ({percent(rest, len(mine))})")
        expected.append(
            [agent, str(len(mine)), hms(seconds), hms(seconds / len(mine)), ", ".join(parts)]
        )
    assert table(page, "#agents") == expected
    assert expected[0][:2] == ["Example.User1", "217"]
    # Dispositions and calls per hour: a chart each, with its numbers in a table.
    assert page.locator("#panel canvas").count() == 2
    page.get_by_text("Numbers").first.click()
    page.get_by_text("Numbers").nth(1).click()
    assert [row[:3] for row in table(page, "#table-dispositions")] == [
        ["VM / NML", "260", "40%"],
        ["Busy", "130", "20%"],
        ["No Answer", "130", "20%"],
        ["RPC", "130", "20%"],
    ]
    hours = table(page, "#table-time")
    assert len(hours) == 24  # the whole day, quiet hours included
    assert hours[0][:2] == ["00:00", "0"]
    assert hours[8][:2] == ["08:00", "60"]
    assert hours[18][:2] == ["18:00", "50"]
    assert page.get_by_label("Calls per", exact=True).input_value() == "hour"
    # The status counts the calls of the range from the summary.
    assert status(page).startswith(f"200 of {DAY_CALLS} calls shown")
    screenshot(page, "summary", full_page=True)


def test_the_time_chart_steps_by_day_or_hour_and_the_url_keeps_the_choice(
    base: str, page: Page
) -> None:
    sign_in(page, base, "admin", PASSWORD, TWO_DAYS)
    page.get_by_text("Numbers").first.click()
    assert page.get_by_label("Calls per", exact=True).input_value() == "day"  # more than a day
    assert [row[:2] for row in table(page, "#table-time")] == [
        [DAY, str(DAY_CALLS)],
        [XSS_DAY, "2"],
    ]
    summaries = api_requests(page, "agent_cdr_summary")
    reports = api_requests(page)
    page.get_by_label("Calls per", exact=True).select_option("hour")
    page.locator("#table-time thead th", has_text="Hour").wait_for()
    settled(page)
    assert [r["groupBy[]"] for r in summaries] == [["hour"]]  # that chart only
    assert reports == []
    assert parse_qs(urlsplit(page.url).query)["per"] == ["hour"]
    assert table(page, "#table-time")[9][:2] == ["09:00", "61"]  # 60 + one on the 14th
    page.reload()
    sign_in(page, base, "admin", PASSWORD, f"?{urlsplit(page.url).query}")
    assert page.get_by_label("Calls per", exact=True).input_value() == "hour"


def test_choosing_an_agent_in_the_summary_shows_only_their_calls(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    sent = api_requests(page)
    page.locator("#agents").get_by_role("button", name="Example.User2").click()
    settled(page)
    assert sent[-1]["user[]"] == ["Example.User2"]
    assert set(cells(page, "user")) == {"Example.User2"}
    assert status(page).startswith("200 of 217 calls shown")
    assert chosen(page, "Agents") == ["Example.User2"]
    assert "user=Example.User2" in page.url
    assert [row[0] for row in table(page, "#agents")] == ["Example.User2"]
    # The panel sums up what the table shows, and removing the choice shows everyone again.
    assert page.inner_text("#panel-totals").startswith("217 calls")
    page.get_by_role("button", name="Remove Example.User2").click()
    settled(page)
    assert "user[]" not in sent[-1]
    assert len(table(page, "#agents")) == 3


def test_the_agents_sort_by_any_column(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    agents = page.locator("#agents")
    names = lambda: [row[0] for row in table(page, "#agents")]  # noqa: E731
    assert names() == ["Example.User1", "Example.User2", "Example.User3"]
    assert agents.locator("th[aria-sort]").inner_text().startswith("Calls")
    agents.get_by_role("button", name="Calls").click()  # fewest first
    assert names() == ["Example.User3", "Example.User1", "Example.User2"]
    agents.get_by_role("button", name="Agent").click()
    assert names() == ["Example.User1", "Example.User2", "Example.User3"]
    assert agents.locator("th[aria-sort=ascending]").inner_text().startswith("Agent")
    agents.get_by_role("button", name="Agent").click()
    assert names() == ["Example.User3", "Example.User2", "Example.User1"]


def test_pick_lists_offer_the_values_of_the_chosen_range(base: str, page: Page) -> None:
    summaries = api_requests(page, "agent_cdr_summary")
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    assert options(page, "Agents") == [
        "Example.User1 217 calls",
        "Example.User2 217 calls",
        "Example.User3 216 calls",
    ]
    assert options(page, "Campaigns") == ["CSCCOLLECTIONS 325 calls", "GALSERVERS 325 calls"]
    assert options(page, "Dispositions") == [
        "Busy 130 calls",
        "No Answer 130 calls",
        "RPC 130 calls",
        "VM / NML 260 calls",
    ]
    assert options(page, "Tenants") == ["CSC 325 calls", "GAL 325 calls"]
    assert options(page, "Profiles") == ["COLLECTIONS 325 calls", "SERVERS 325 calls"]
    # The panel's summary by agent and disposition serves the pick-lists too.
    assert [r["groupBy[]"] for r in summaries] == [
        ["user", "disposition"],
        ["hour"],
        ["campaign_name", "profile"],
        ["portfolio"],
    ]

    # Type-ahead: typing narrows the choices; arrows and Enter pick one.
    summaries.clear()
    reports = api_requests(page)
    box = page.get_by_role("combobox", name="Campaigns")
    box.fill("coll")
    assert box.get_attribute("aria-expanded") == "true"
    choices = page.get_by_role("listbox", name="Campaigns: choices").get_by_role("option")
    assert choices.all_inner_texts()[0].startswith("CSCCOLLECTIONS")
    assert choices.count() == 1
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == choices.get_attribute("id")
    assert choices.get_attribute("aria-selected") == "true"
    box.press("Enter")
    settled(page)
    assert chosen(page, "Campaigns") == ["CSCCOLLECTIONS"]
    assert reports[-1]["campaign_name[]"] == ["CSCCOLLECTIONS"]
    assert set(cells(page, "campaign_name")) == {"CSCCOLLECTIONS"}
    # The choices are those of the range, not of the other filters: asked for once.
    assert ["campaign_name", "profile"] not in [r["groupBy[]"] for r in summaries]
    assert options(page, "Agents")[0] == "Example.User1 217 calls"

    # A click picks too, and a chosen value is no longer offered.
    dispositions = page.get_by_role("combobox", name="Dispositions")
    dispositions.click()
    page.get_by_role("listbox", name="Dispositions: choices").get_by_role(
        "option", name="RPC"
    ).click()
    settled(page)
    assert reports[-1]["disposition[]"] == ["RPC"]
    assert "RPC 130 calls" not in options(page, "Dispositions")
    assert parse_qs(urlsplit(page.url).query)["disposition"] == ["RPC"]

    # Another range brings its own choices.
    page.get_by_label("To").fill(XSS_DAY)
    settled(page)
    assert len(options(page, "Agents")) == 4


def test_a_value_that_is_not_offered_can_be_typed(base: str, page: Page) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    box = page.get_by_role("combobox", name="Agents")
    box.fill("Nobody.Here, Example.User3")
    box.press("Enter")
    settled(page)
    assert chosen(page, "Agents") == ["Nobody.Here", "Example.User3"]
    assert status(page).startswith("200 of 216 calls shown")
    box.press("Backspace")  # the empty input takes back the last value
    settled(page)
    assert chosen(page, "Agents") == ["Nobody.Here"]
    assert status(page).startswith("No calls match these filters")
    assert page.inner_text("#panel-status") == "No calls to sum up."


@pytest.mark.parametrize(
    ("label", "value", "field"),
    [
        ("Phone number", "5550000007", "phone_number"),
        ("Loan number", "0000012-222222-001", "loan_number"),
    ],
)
def test_a_phone_or_loan_number_search_finds_its_calls(
    base: str, page: Page, label: str, value: str, field: str
) -> None:
    sign_in(page, base, "admin", PASSWORD, DAY_VIEW)
    sent = api_requests(page)
    page.get_by_label(label, exact=True).fill(value)
    page.get_by_label(label, exact=True).press("Enter")
    settled(page)
    assert len(sent) == 1  # Enter's change and submit run one query
    assert sent[-1][field] == [value]
    assert cells(page, field) == [value]
    assert status(page).startswith("1 call, ")
    assert page.inner_text("#panel-totals").startswith("1 call, ")
    assert parse_qs(urlsplit(page.url).query)[field] == [value]


def test_values_render_as_text_never_as_html(base: str, page: Page) -> None:
    """Markup in a disposition and in an agent's name, everywhere the page shows them: the
    table, the summary panel (agents, dispositions, chart labels), the pick-lists and their
    chips."""
    sign_in(page, base, "admin", PASSWORD, f"?preset=custom&fromDate={XSS_DAY}&toDate={XSS_DAY}")
    assert sorted(cells(page, "disposition")) == sorted([XSS, "RPC"])
    assert XSS_AGENT in cells(page, "user")
    agents = table(page, "#agents")
    assert [row[0] for row in agents] == sorted([XSS_AGENT, "Example.User1"])
    assert f"{XSS} 1 (100%)" in [row[4] for row in agents]
    page.get_by_text("Numbers").nth(1).click()
    assert [row[0] for row in table(page, "#table-dispositions")] == sorted([XSS, "RPC"])
    assert page.locator("#panel canvas").count() == 2  # the labels are painted, not markup
    assert XSS_AGENT in " ".join(options(page, "Agents"))
    page.locator("#agents").get_by_role("button", name=XSS_AGENT).click()
    settled(page)
    assert chosen(page, "Agents") == [XSS_AGENT]
    assert cells(page, "user") == [XSS_AGENT]
    page.get_by_role("button", name=f"Remove {XSS_AGENT}").click()
    box = page.get_by_role("combobox", name="Dispositions")
    box.fill("img")
    box.press("ArrowDown")
    box.press("Enter")
    settled(page)
    assert chosen(page, "Dispositions") == [XSS]
    assert cells(page, "disposition") == [XSS]
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__xss") is None
