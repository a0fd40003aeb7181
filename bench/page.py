"""``python -m bench.page``: the report page in Chromium on a large store (not run by the
suite; for ``make bench`` later). For a 1-day and the 30-day range of a store made with
``agentcdr demo``, it measures the time from the sign-in click to the first rows on screen,
the JS heap after the first page and with the table full (the page's row limit), and the
rows and elements in the document. Prints a table and writes JSON to ``--out``.

    python -m bench.page --calls-per-day 66667   # 2M calls in 30 days
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.browser.chromium import (
    API_PATH,
    heap_bytes,
    launch,
    missing,
    rendered_rows,
    scroll_to_end,
    settled,
)
from tests.browser.test_page_large import PASSWORD, make_store
from tests.livserver import serve

RANGES = {"1d": ("2025-05-31", "2025-05-31"), "30d": ("2025-05-02", "2025-05-31")}


def measure(base: str, first: str, last: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        pages: list[str] = []
        page.on(
            "request", lambda r: pages.append(r.url) if urlsplit(r.url).path == API_PATH else None
        )
        page.goto(f"{base}/?preset=custom&fromDate={first}&toDate={last}")
        page.get_by_label("API user").fill("big")
        page.get_by_label("Password").fill(PASSWORD)
        started = time.monotonic()
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#grid .tabulator-row")
        first_rows = time.monotonic() - started
        settled(page)
        heap_first = heap_bytes(page)
        started = time.monotonic()
        while "scroll for more" in page.inner_text("#status"):
            scroll_to_end(page)
            page.wait_for_timeout(20)
            settled(page)
        full = time.monotonic() - started
        result = {
            "first_rows_s": round(first_rows, 3),
            "heap_first_page_mb": round(heap_first / 1e6, 1),
            "heap_full_mb": round(heap_bytes(page) / 1e6, 1),
            "pages_loaded": len(pages) - 1,
            "scroll_to_full_s": round(full, 2),
            "rows_in_document": rendered_rows(page),
            "elements_in_grid": page.locator("#grid *").count(),
            "status": page.inner_text("#status"),
        }
        browser.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.page", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--calls-per-day", type=int, default=66_667, help="default: 2M calls in 30 days"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out/page.json"))
    args = parser.parse_args(argv)
    reason = missing()
    if reason is not None:
        print(f"bench.page: {reason}")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'calls.db'}"
        print(f"bench.page: making {30 * args.calls_per_day:,} calls …", flush=True)
        make_store(url, args.calls_per_day)
        with serve(url, Path(tmp)) as base:
            results = {name: measure(base, *span) for name, span in RANGES.items()}
    print(
        f"{'range':6} {'first rows':>11} {'heap 1st page':>14} {'heap full':>10} {'pages':>6} {'DOM rows':>9}"
    )
    for name, r in results.items():
        print(
            f"{name:6} {r['first_rows_s']:>10.3f}s {r['heap_first_page_mb']:>11.1f} MB"
            f" {r['heap_full_mb']:>7.1f} MB {r['pages_loaded']:>6} {r['rows_in_document']:>9}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"calls_per_day": args.calls_per_day, "ranges": results}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
