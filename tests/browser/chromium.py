"""Debian's Chromium driven by Playwright for Python, for the report page's tests and its
benchmark (bench/page.py). Playwright's own browser download is never used: it launches
/usr/bin/chromium."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

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
    """Waits until no request of the page runs (the status is not a loading one)."""
    page.wait_for_function(
        "() => { const s = document.getElementById('status');"
        " return !document.getElementById('report').hidden && s.textContent"
        " && !s.classList.contains('busy'); }"
    )


def rendered_rows(page: Page) -> int:
    """Rows in the document (the virtual DOM keeps only those near the view)."""
    return int(page.locator("#grid .tabulator-row").count())


def scroll_to_end(page: Page) -> None:
    """Scrolls the grid to its last loaded row, as a user dragging the scroll bar would."""
    page.eval_on_selector(
        "#grid .tabulator-tableholder", "(holder) => { holder.scrollTop = holder.scrollHeight; }"
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


def screenshot(page: Page, name: str) -> Path:
    """Saves a screenshot under tests/browser/screenshots/ (ignored by git) for a person to
    look at; docs/report-page.png is one of them."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
