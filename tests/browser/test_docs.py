"""/docs in Chromium: Swagger UI shows the description under the page's strict policy (no
violation, no error) and its "Try it out" calls the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import Watched
from tests.livserver import serve
from tests.seed import PASSWORD, seed

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.socket


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("docs")
    url = f"sqlite:///{tmp / 'calls.db'}"
    seed(url, users={"admin": None})
    with serve(url, tmp) as base_url:
        yield base_url


def test_the_docs_show_the_description_and_try_it_out(base: str, tab: Watched) -> None:
    page: Page = tab.page
    answer = page.goto(f"{base}/docs")
    assert answer is not None
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    page.wait_for_selector(".opblock")
    methods = page.locator(".opblock-summary-method").all_inner_texts()
    assert {"GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"} <= set(methods)
    get = page.locator(".opblock-get").first
    get.locator(".opblock-summary").click()
    get.get_by_role("button", name="Try it out").click()

    def field(name: str):  # type: ignore[no-untyped-def]
        return get.locator(f"tr[data-param-name='{name}']")

    field("goAction").locator("select").select_option("agent_cdr")
    field("goUser").locator("input").fill("admin")
    field("goPass").locator("input").fill(PASSWORD)
    field("responsetype").locator("select").select_option("json")
    field("fromDate").locator("input").fill("2025-05-13")
    field("toDate").locator("input").fill("2025-05-13")
    get.get_by_role("button", name="Execute").click()
    status = get.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    body = get.locator(
        ".live-responses-table tbody .response-col_description pre"
    ).first.inner_text()
    assert '"result": "success"' in body
