"""The report page in Debian's Chromium against a real ``agentcdr serve`` on a seeded store.

Without /usr/bin/chromium (or Playwright) the tests skip with the reason; in CI (CI=true)
they fail instead, because CI must test the page (.ci/run installs Chromium).

Playwright's sync API keeps an event loop running in its thread while it is started, so
everything that calls ``asyncio.run`` (seeding the store) happens before it starts, and it is
stopped at the end of each module, before other tests' fixtures run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser import seeded
from tests.browser.chromium import launch, missing
from tests.conftest import IN_CI
from tests.livserver import serve
from tests.seed import seed

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server on the store of tests/browser/seeded.py, with the API user ``admin``."""
    tmp = tmp_path_factory.mktemp("page")
    url = f"sqlite:///{tmp / 'calls.db'}"
    seed(url, seeded.calls(), users={"admin": None})
    with serve(url, tmp) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = missing()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI must test the report page, but: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page, and what went wrong in it: uncaught errors and Content-Security-Policy
    violations (each one a thing the page tried that its policy refused)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def violations(self) -> list[Any]:
        return list(self.page.evaluate("window.__violations || []"))


WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__violations.push(`${e.violatedDirective}: ${e.blockedURI}`));
"""


def open_page(browser: Browser, **context: Any) -> Iterator[Watched]:
    """A fresh tab (own memory, so own sign-in); checks at the end that nothing failed."""
    ctx = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **context})
    ctx.add_init_script(WATCH_CSP)
    watched = Watched(ctx.new_page())
    try:
        yield watched
        assert watched.errors == []
        if not watched.page.is_closed() and watched.page.url.startswith("http"):
            assert watched.violations() == []
    finally:
        ctx.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Watched]:
    yield from open_page(browser)


@pytest.fixture
def page(tab: Watched) -> Page:
    return tab.page
