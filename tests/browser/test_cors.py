"""A page on another origin calls the API from Chromium: a JSON body, HTTP Basic, Tabulator's
X-Requested-With, and credentials, from an allowed origin and from one that is not.

Each page origin is a small HTTP server of its own on another local port (another origin
than the API's); the page's script is the ``fetch`` that the test evaluates in it. The
servers start before the browser (fixture order), which keeps an event loop running."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.chromium import API_PATH
from tests.browser.conftest import Watched, open_page
from tests.livserver import serve
from tests.seed import PASSWORD, seed

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.socket

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}


class _Blank(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>elsewhere</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def origins() -> Iterator[tuple[str, str]]:
    """Two page origins: (allowed, not allowed)."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Blank) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield tuple(f"http://127.0.0.1:{s.server_address[1]}" for s in servers)  # type: ignore[misc]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def apis(
    tmp_path_factory: pytest.TempPathFactory, origins: tuple[str, str]
) -> Iterator[dict[str, str]]:
    """The API with the default (``*``) and with only the allowed origin named."""
    tmp = tmp_path_factory.mktemp("cors")
    url = f"sqlite:///{tmp / 'calls.db'}"
    seed(url, users={"admin": None})
    allowed, _ = origins
    for name in ("any", "named"):
        (tmp / name).mkdir()
    with (
        serve(url, tmp / "any", AGENTCDR_CORS_ORIGINS=None) as any_origin,
        serve(url, tmp / "named", AGENTCDR_CORS_ORIGINS=allowed) as named,
    ):
        yield {"any": any_origin, "named": named}


CALL = """async ([url, kind, password, day]) => {
  const params = {goAction: "agent_cdr", responsetype: "json", ...day};
  let init;
  if (kind === "json") {
    init = {method: "POST", headers: {"Content-Type": "application/json"},
            body: JSON.stringify({...params, goUser: "admin", goPass: password})};
  } else if (kind === "basic") {
    init = {method: "POST", headers: {"Authorization": "Basic " + btoa("admin:" + password),
            "Content-Type": "application/x-www-form-urlencoded"},
            body: new URLSearchParams(params).toString()};
  } else if (kind === "tabulator") {
    const query = new URLSearchParams({...params, goUser: "admin", goPass: password});
    init = {method: "GET", headers: {"X-Requested-With": "XMLHttpRequest"}};
    url = url + "?" + query;
  } else {  // credentials: the browser's own (cookies, cached HTTP auth) travel too
    init = {method: "POST", credentials: "include",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({...params, goUser: "admin", goPass: password})};
  }
  try {
    const response = await fetch(url, init);
    const body = await response.json();
    return {status: response.status, rows: body.data ? body.data.rows.length : null,
            requestId: response.headers.get("X-Request-ID")};
  } catch (error) {
    return {error: String(error)};
  }
}"""

KINDS = ("json", "basic", "tabulator", "credentials")


def calls(browser: Browser, origin: str, api: str) -> dict[str, dict[str, Any]]:
    pages = open_page(browser)
    tab: Watched = next(pages)
    try:
        tab.page.goto(origin + "/")
        return {
            kind: tab.page.evaluate(CALL, [api + API_PATH, kind, PASSWORD, DAY]) for kind in KINDS
        }
    finally:
        pages.close()


def succeeded(result: dict[str, Any]) -> bool:
    return result.get("status") == 200 and result.get("rows") == 6 and bool(result["requestId"])


def test_any_origin_may_call_without_credentials(
    apis: dict[str, str], origins: tuple[str, str], browser: Browser
) -> None:
    for origin in origins:
        results = calls(browser, origin, apis["any"])
        assert succeeded(results["json"]), results
        assert succeeded(results["basic"]), results
        assert succeeded(results["tabulator"]), results
        assert results["credentials"] == {"error": "TypeError: Failed to fetch"}


def test_a_named_origin_may_call_with_credentials_and_no_other(
    apis: dict[str, str], origins: tuple[str, str], browser: Browser
) -> None:
    allowed, other = origins
    results = calls(browser, allowed, apis["named"])
    assert all(succeeded(results[kind]) for kind in KINDS), results
    refused = calls(browser, other, apis["named"])
    assert refused == {kind: {"error": "TypeError: Failed to fetch"} for kind in KINDS}


def test_basic_credentials_are_checked_across_origins(
    apis: dict[str, str], origins: tuple[str, str], browser: Browser
) -> None:
    pages = open_page(browser)
    tab: Watched = next(pages)
    try:
        tab.page.goto(origins[1] + "/")
        token = base64.b64encode(b"admin:wrong").decode()
        result = tab.page.evaluate(
            """async ([url, token]) => {
              const r = await fetch(url, {method: "POST",
                headers: {"Authorization": "Basic " + token,
                          "Content-Type": "application/x-www-form-urlencoded"},
                body: "goAction=agent_cdr&responsetype=json"});
              return {status: r.status, body: await r.json()};
            }""",
            [apis["any"] + API_PATH, token],
        )
    finally:
        pages.close()
    # The error body is readable by the page: it can tell the user what went wrong.
    assert result == {
        "status": 401,
        "body": {"result": "error", "code": "10000", "message": "Invalid Username/Password"},
    }
