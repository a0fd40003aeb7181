"""Debian's Chromium driven by Playwright for Python, for the report page's tests and its
benchmark (bench/page.py). Playwright's own browser download is never used: it launches
/usr/bin/chromium."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Request

CHROMIUM: Final = Path(os.environ.get("AGENTCDR_CHROMIUM", "/usr/bin/chromium"))
ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    # performance.memory in whole bytes, not rounded to hide timing side channels
    "--enable-precise-memory-info",
]
API_PATH: Final = "/goAPIv2/goReports/goAPI.php"
SCREENSHOTS: Final = Path(__file__).parent / "screenshots"


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian: apt-get install -y chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (the dev extra)"
    return None


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


def sign_in(page: Page, base: str, user: str, password: str, query: str = "") -> None:
    """Opens the page at ``query`` and signs in; returns when the first answer is shown."""
    page.goto(f"{base}/{query}")
    page.get_by_label("API user").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    settled(page)


def settled(page: Page) -> None:
    """Waits until no request of the page runs: the table's, the summaries' and the
    pick-lists' (the report is not busy, and its status is not a loading one)."""
    page.wait_for_function(
        "() => { const s = document.getElementById('status');"
        " const report = document.getElementById('report');"
        " return !report.hidden && report.getAttribute('aria-busy') !== 'true'"
        " && s.textContent && !s.classList.contains('busy'); }"
    )


def api_requests(page: Page, action: str = "agent_cdr") -> list[dict[str, list[str]]]:
    """The parameters of every request for ``action`` the page sends from now on (the
    report's pages by default; ``agent_cdr_summary`` for its summaries)."""
    sent: list[dict[str, list[str]]] = []

    def record(request: Request) -> None:
        if urlsplit(request.url).path == API_PATH:
            assert "goPass" not in request.url
            fields = parse_qs(request.post_data or "")
            if fields.get("goAction") == [action]:
                sent.append(fields)

    page.on("request", record)
    return sent


def cells(page: Page, field: str) -> list[str]:
    """The texts of the grid's cells of ``field`` in the document."""
    return page.locator(
        f'#grid .tabulator-row .tabulator-cell[tabulator-field="{field}"]'
    ).all_inner_texts()


def status(page: Page) -> str:
    return page.inner_text("#status")


def chosen(page: Page, label: str) -> list[str]:
    """The values the pick-list ``label`` shows as chosen (the text of its chips)."""
    chips = page.get_by_role("list", name=f"{label}: chosen").get_by_role("listitem")
    return list(chips.evaluate_all("(chips) => chips.map((chip) => chip.firstChild.textContent)"))


def rendered_rows(page: Page) -> int:
    """Rows in the document (the virtual DOM keeps only those near the view)."""
    return int(page.locator("#grid .tabulator-row").count())


def scroll_to_end(page: Page) -> None:
    """Scrolls the grid to its last loaded row, as a user dragging the scroll bar down until
    it stays there would: the virtual DOM sizes the rows it has not drawn by estimate, so
    the end moves as rows are drawn."""
    page.eval_on_selector(
        "#grid .tabulator-tableholder",
        """async (holder) => {
          for (let i = 0; i < 20; i += 1) {
            holder.scrollTop = holder.scrollHeight;
            await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 10)));
            if (holder.scrollTop + holder.clientHeight >= holder.scrollHeight - 1) return;
          }
        }""",
    )


def heap_bytes(page: Page) -> int:
    """The page's JS heap in use after a full garbage collection."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("HeapProfiler.collectGarbage")
        session.send("Performance.enable")
        metrics: list[dict[str, Any]] = session.send("Performance.getMetrics")["metrics"]
        return int(next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize"))
    finally:
        session.detach()


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Saves a screenshot under tests/browser/screenshots/ (ignored by git) for a person to
    look at; docs/report-page.png is one of them."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
