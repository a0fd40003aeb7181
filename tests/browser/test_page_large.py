"""A 30-day range of a large store: the first page comes alone, the document keeps only the
rows near the view however far the user scrolls, the JS heap stays bounded (the table stops
at the page's row limit and points to the exports), the summary counts the range, and the
export of the whole range downloads every call it counts. No timing is asserted (shared
machines); bench/page.py measures the times."""

from __future__ import annotations

import csv
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.chromium import (
    api_requests,
    heap_bytes,
    rendered_rows,
    screenshot,
    scroll_to_end,
    settled,
    sign_in,
    status,
)
from tests.browser.conftest import Watched
from tests.livserver import AGENTCDR, serve

pytestmark = pytest.mark.socket

CALLS_PER_DAY = 8_000  # 240,000 calls in 30 days
PASSWORD = "large-range-password"
VIEW = "?preset=custom&fromDate=2025-05-02&toDate=2025-05-31"
MAX_ROWS = 10_000  # MAX_ROWS of report.js
MB = 1_000_000


def make_store(url: str, calls_per_day: int = CALLS_PER_DAY) -> None:
    """30 days of demo calls ending 2025-05-31, and the API user ``big``."""
    days = ["--days", "30", "--agents", "300", "--calls-per-day", str(calls_per_day)]
    subprocess.run(
        [*AGENTCDR, "--db", url, "demo", *days, "--end-day", "2025-05-31"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*AGENTCDR, "--db", url, "users", "add", "big", "--all-tenants"],
        check=True,
        capture_output=True,
        env={**os.environ, "AGENTCDR_PASSWORD": PASSWORD},
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("large")
    url = f"sqlite:///{tmp / 'calls.db'}"
    make_store(url)
    with serve(url, tmp) as base_url:
        yield base_url


def test_a_30_day_range_stays_small_in_the_browser(base: str, tab: Watched) -> None:
    page = tab.page
    pages = api_requests(page)
    sign_in(page, base, "big", PASSWORD, VIEW)
    assert len(pages) == 2  # the sign-in check, then the first page alone
    total = 30 * CALLS_PER_DAY
    assert status(page).startswith(
        f"200 of {total:,} calls shown, 2025-05-02 00:00:00 to 2025-05-31"
    )
    assert page.inner_text("#panel-totals").startswith(f"{total:,} calls")
    first_heap = heap_bytes(page)
    screenshot(page, "report-page", full_page=True)  # docs/report-page.png, the README's picture

    most_rendered = 0
    while not status(page).startswith("The first"):
        scroll_to_end(page)
        page.wait_for_timeout(20)
        settled(page)
        most_rendered = max(most_rendered, rendered_rows(page))
    assert len(pages) == 1 + MAX_ROWS // 200
    assert 0 < most_rendered < 150  # of 10,000 rows loaded
    assert page.locator("#grid *").count() < 3_000
    full_heap = heap_bytes(page)
    # 10,000 rows held: well under 4 kB each (about 0.6 kB measured).
    assert full_heap - first_heap < 40 * MB
    screenshot(page, "large-range")

    # Scrolling on, back and forth, loads nothing more and keeps the heap where it was.
    for _ in range(10):
        page.eval_on_selector("#grid .tabulator-tableholder", "(h) => { h.scrollTop = 0; }")
        page.wait_for_timeout(20)
        scroll_to_end(page)
        page.wait_for_timeout(20)
        assert rendered_rows(page) < 150
    assert len(pages) == 1 + MAX_ROWS // 200
    assert heap_bytes(page) - full_heap < 2 * MB


def test_exporting_30_days_downloads_every_call_the_summary_counts(
    base: str, tab: Watched, tmp_path: Path
) -> None:
    page = tab.page
    sign_in(page, base, "big", PASSWORD, VIEW)
    counted = int(page.inner_text("#panel-totals").split(" calls")[0].replace(",", ""))
    assert counted == 30 * CALLS_PER_DAY
    heap = heap_bytes(page)
    with page.expect_download(timeout=300_000) as download_info:
        page.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == "agent_cdr_2025-05-02_2025-05-31.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="") as file:
        records = sum(1 for _ in csv.reader(file))
    assert records == 1 + counted  # the header, then every call
    # The file went to disk, not through the page's memory.
    assert heap_bytes(page) - heap < 2 * MB
