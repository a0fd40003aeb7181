"""``python -m bench.page``: the report page in Chromium on a large store (not run by the
suite). For a 1-day and the 30-day range of a store made with ``agentcdr demo`` (made once
into the data directory and reused), it measures, in a fresh tab each:

- the time from the sign-in click to the first rows on screen (the sign-in check, which
  verifies the password hash, included; the time to the check's end is given apart), and
  from a click on *Show* to the first rows of the same range again (the query alone);
- the time to the total of the range (from the summary) after the sign-in click;
- while scrolling: the time from setting the grid's scroll position to the next painted
  frame, over jumps to random rows of the 10,000 loaded (median and longest), and the main
  thread's long tasks (over 50 ms) while the grid fills by scrolling and then while jumping;
- the JS heap after the first page, with the grid full (the page's row limit), after the
  jumps, with every loaded row drawn once (the most it can hold: Tabulator keeps a row's
  cells once drawn), and after more jumps and another sweep (flat: no more than that); the
  rows and elements in the document.

Prints a table and writes JSON to ``--out``.

    python -m bench.page                         # 2M calls in 30 days (66,667 a day)
    python -m bench.page --calls-per-day 3000    # quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.browser.chromium import (
    api_requests,
    heap_bytes,
    launch,
    missing,
    rendered_rows,
    scroll_to_end,
    settled,
)
from tests.browser.test_page_large import PASSWORD, make_store
from tests.livserver import serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parent.parent
RANGES = {"1d": ("2025-05-31", "2025-05-31"), "30d": ("2025-05-02", "2025-05-31")}
JUMPS = 100
# The main thread's long tasks, from the page's start (Chromium reports tasks over 50 ms).
LONG_TASKS = """
window.__long = [];
new PerformanceObserver((list) => window.__long.push(...list.getEntries().map((e) => e.duration)))
  .observe({ type: "longtask", buffered: true });
"""
# Jumps to random rows: the time from setting the position to the frame after the next one
# (the grid draws its rows on the scroll event, then the browser paints them).
JUMP = """
async ([jumps]) => {
  const holder = document.querySelector("#grid .tabulator-tableholder");
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  let seed = 42;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const times = [];
  for (let i = 0; i < jumps; i += 1) {
    const started = performance.now();
    holder.scrollTop = Math.floor(random() * (holder.scrollHeight - holder.clientHeight));
    await frame();
    await frame();
    times.push(performance.now() - started);
  }
  return times;
}
"""
# Every loaded row drawn once, a view at a time from the top: the most the grid's rows can
# hold (Tabulator keeps a row's cells once drawn; the grid holds at most 10,000 rows).
SWEEP = """
async () => {
  const holder = document.querySelector("#grid .tabulator-tableholder");
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  holder.scrollTop = 0;
  await frame();
  while (holder.scrollTop + holder.clientHeight < holder.scrollHeight - 1) {
    holder.scrollTop += holder.clientHeight;
    await frame();
  }
}
"""
STATUS_WITH_TOTAL = "() => / of [0-9,]+ calls/.test(document.getElementById('status').textContent)"
FIRST_PAGE_SHOWN = (
    "() => { const s = document.getElementById('status');"
    " return !s.classList.contains('busy') && s.textContent.startsWith('200 ')"
    " && document.querySelector('#grid .tabulator-row'); }"
)


def long_tasks(page: Page) -> list[float]:
    """The long tasks since the last call, in ms."""
    return [float(t) for t in page.evaluate("() => window.__long.splice(0)")]


def measure(browser: Browser, base: str, first: str, last: str) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(LONG_TASKS)
    page = context.new_page()
    pages = api_requests(page)
    page.goto(f"{base}/?preset=custom&fromDate={first}&toDate={last}")
    page.get_by_label("API user").fill("big")
    page.get_by_label("Password").fill(PASSWORD)
    started = time.monotonic()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#report", state="visible")
    signed_in = time.monotonic() - started
    page.wait_for_selector("#grid .tabulator-row", state="attached")
    first_rows = time.monotonic() - started
    page.wait_for_function(STATUS_WITH_TOTAL, timeout=600_000)
    total = time.monotonic() - started
    settled(page)

    started = time.monotonic()
    page.get_by_role("button", name="Show").click()
    page.wait_for_function(FIRST_PAGE_SHOWN)
    again = time.monotonic() - started
    settled(page)
    heap_first = heap_bytes(page)
    long_tasks(page)
    before = len(pages)

    started = time.monotonic()
    while "scroll for more" in page.inner_text("#status"):
        scroll_to_end(page)
        page.wait_for_timeout(20)
        settled(page)
    full = time.monotonic() - started
    filling = long_tasks(page)
    heap_full = heap_bytes(page)
    loaded = len(pages)
    jumps = [float(t) for t in page.evaluate(JUMP, [JUMPS])]
    jumping = long_tasks(page)
    heap_jumps = heap_bytes(page)
    page.evaluate(SWEEP)
    heap_swept = heap_bytes(page)
    page.evaluate(JUMP, [JUMPS])
    page.evaluate(SWEEP)
    result = {
        "signed_in_s": round(signed_in, 3),
        "first_rows_after_sign_in_s": round(first_rows, 3),
        "first_rows_of_a_query_s": round(again, 3),
        "total_after_sign_in_s": round(total, 2),
        "scroll_to_full_s": round(full, 2),
        "pages_loaded_by_scrolling": loaded - before,
        "jump_to_paint_ms_median": round(statistics.median(jumps), 1),
        "jump_to_paint_ms_max": round(max(jumps), 1),
        "long_tasks_while_filling": len(filling),
        "longest_task_while_filling_ms": round(max(filling, default=0), 1),
        "long_tasks_while_jumping": len(jumping),
        "longest_task_while_jumping_ms": round(max(jumping, default=0), 1),
        "heap_first_page_mb": round(heap_first / 1e6, 1),
        "heap_full_mb": round(heap_full / 1e6, 1),
        "heap_after_jumps_mb": round(heap_jumps / 1e6, 1),
        "heap_every_row_drawn_mb": round(heap_swept / 1e6, 1),
        "heap_after_more_jumps_and_a_sweep_mb": round(heap_bytes(page) / 1e6, 1),
        "pages_loaded_by_jumps": len(pages) - loaded,
        "rows_in_document": rendered_rows(page),
        "elements_in_grid": page.locator("#grid *").count(),
        "status": page.inner_text("#status"),
    }
    context.close()
    return result


def store(data_dir: Path, calls_per_day: int) -> str:
    """The store's URL: made once with ``agentcdr demo`` (and the API user ``big``)."""
    path = data_dir / f"page-30d-{calls_per_day}pd.db"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.db")
        partial.unlink(missing_ok=True)
        print(f"bench.page: making {30 * calls_per_day:,} calls into {path} (once)", flush=True)
        make_store(f"sqlite:///{partial}", calls_per_day)
        os.replace(partial, path)
    return f"sqlite:///{path}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.page", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument(
        "--calls-per-day", type=int, default=66_667, help="default: 2M calls in 30 days"
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument("--port", type=int, help="the server's port (default: a free one)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "page.json")
    args = parser.parse_args(argv)
    reason = missing()
    if reason is not None:
        print(f"bench.page: {reason}")
        return 1
    from playwright.sync_api import sync_playwright

    url = store(args.data_dir, args.calls_per_day)
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(url, Path(tmp), port=args.port) as base,
        sync_playwright() as playwright,
    ):
        browser = launch(playwright)
        results = {name: measure(browser, base, *span) for name, span in RANGES.items()}
        browser.close()
    print(
        f"{'range':6} {'signed in':>9} {'1st rows':>8} {'(query)':>8} {'total':>7} {'jump→paint':>15}"
        f" {'long tasks':>10} {'heap 1st':>9} {'full':>8} {'jumps':>8} {'all drawn':>9}"
        f" {'again':>8}"
    )
    for name, r in results.items():
        print(
            f"{name:6} {r['signed_in_s']:>8.3f}s {r['first_rows_after_sign_in_s']:>7.3f}s"
            f" {r['first_rows_of_a_query_s']:>7.3f}s"
            f" {r['total_after_sign_in_s']:>6.2f}s"
            f" {r['jump_to_paint_ms_median']:>6.1f}/{r['jump_to_paint_ms_max']:.1f} ms"
            f" {r['long_tasks_while_filling'] + r['long_tasks_while_jumping']:>10}"
            f" {r['heap_first_page_mb']:>6.1f} MB {r['heap_full_mb']:>5.1f} MB"
            f" {r['heap_after_jumps_mb']:>5.1f} MB {r['heap_every_row_drawn_mb']:>6.1f} MB"
            f" {r['heap_after_more_jumps_and_a_sweep_mb']:>5.1f} MB"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "calls_per_day": args.calls_per_day,
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "ranges": results,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
