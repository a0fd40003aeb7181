"""What HTTP clients meet (issue 11), checked against a real ``agentcdr serve``.

    python -m bench.clients [--python PATH] [--port N]

Each row is a behaviour a client or an operator depends on, as a request any client sends
(httpx here, with the headers that requests, Node fetch, PHP curl or Tabulator send) and
what came back. ``--python PATH`` runs the server with another interpreter, one whose
environment has another version of agentcdr installed (a venv of an older checkout), so
that the same checks show before and after side by side. The store is SQLite, seeded as the
hardening campaign seeds it (``bench.attack``: 7 days of demo calls and rows of hostile
text), in America/New_York.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from bench.attack import API, Serve, database, form, seed

ORIGIN = "https://supervisors.example"
WEEK = {"fromDate": "2025-05-07", "toDate": "2025-05-13"}

METHODS = {"get", "post", "head", "options", "put", "delete", "patch", "trace"}

Check = Callable[[httpx.Client], str]


def _post(
    client: httpx.Client, headers: dict[str, str] | None = None, **fields: str
) -> httpx.Response:
    return client.post(API, data=form(**{**WEEK, **fields}), headers=headers or {})


def _encoding(name: str) -> Check:
    def check(client: httpx.Client) -> str:
        plain = len(_post(client, {"Accept-Encoding": "identity"}).content)
        response = _post(client, {"Accept-Encoding": name})
        return (
            f"{response.status_code}, Content-Encoding "
            f"{response.headers.get('content-encoding', '-')}, Vary "
            f"{response.headers.get('vary', '-')}, {response.num_bytes_downloaded:,} bytes "
            f"on the wire for {plain:,}"
        )

    return check


def _preflight(client: httpx.Client) -> str:
    response = client.options(
        API,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-requested-with",
        },
    )
    allowed = response.headers.get("access-control-allow-origin", "-")
    return f"{response.status_code}, Allow-Origin {allowed}"


def _exposed(client: httpx.Client) -> str:
    response = _post(client, {"Origin": ORIGIN}, limit="1")
    exposed = response.headers.get("access-control-expose-headers", "-")
    return f"{response.status_code}, Expose-Headers {exposed}"


def _head(client: httpx.Client) -> str:
    query = "&".join(f"{k}={v}" for k, v in form(**WEEK, limit="5").items())
    response = client.head(f"{API}?{query}")
    return f"{response.status_code}, Content-Type {response.headers.get('content-type', '-')}"


def _content_type(fmt: str) -> Check:
    def check(client: httpx.Client) -> str:
        response = _post(client, responsetype=fmt, limit="1")
        return f"{response.status_code}, {response.headers.get('content-type', '-')}"

    return check


def _nasty(fmt: str, needle: bytes, good: bytes) -> Check:
    """How a stored value with ``needle`` (a CR, U+2028) is written in ``fmt``."""

    def check(client: httpx.Client) -> str:
        body = _post(client, responsetype=fmt, fromDate="2025-05-13", toDate="2025-05-13").content
        if good in body:
            return f"written as {good.decode()}"
        return "written raw" if needle in body else "value not found"

    return check


def _formulas(client: httpx.Client) -> str:
    body = _post(client, responsetype="csv", csvFormulas="neutralize", fromDate="2025-05-13",
                 toDate="2025-05-13").content  # fmt: skip
    if b"'=HYPERLINK" in body:
        return "neutralized ('=HYPERLINK…)"
    return "kept as =HYPERLINK… (option ignored)" if b"=HYPERLINK" in body else "no CSV"


def _get(path: str, header: str | None = None) -> Check:
    def check(client: httpx.Client) -> str:
        response = client.get(path)
        kind = response.headers.get("content-type", "-").split(";")[0]
        shown = f", {header} {response.headers.get(header, '-')}" if header else ""
        return f"{response.status_code} {kind}{shown}"

    return check


def _openapi_agrees(client: httpx.Client) -> str:
    response = client.get("/openapi.json")
    if response.status_code != 200:
        return f"{response.status_code}"
    spec = orjson.loads(response.content)
    operations = [m for m in spec.get("paths", {}).get(API, {}) if m in METHODS]
    return f"200, OpenAPI {spec.get('openapi')}, methods {', '.join(sorted(operations))}"


CHECKS: list[tuple[str, Check]] = [
    ("1 week JSON, Accept-Encoding: gzip (requests, httpx, PHP curl)", _encoding("gzip")),
    ("1 week JSON, Accept-Encoding: zstd", _encoding("zstd")),
    ("CORS preflight, JSON body and X-Requested-With (Tabulator)", _preflight),
    ("cross-origin POST: X-Request-ID readable by the page", _exposed),
    ("HEAD of a report URL (monitors, polars)", _head),
    ("JSON Content-Type", _content_type("json")),
    ("NDJSON Content-Type", _content_type("ndjson")),
    ("XML: a CR in a stored value (SimpleXML, xmllint)", _nasty("xml", b"\r", b"&#13;")),
    (
        "JSON: U+2028 in a stored value (PHP json_encode)",
        _nasty("json", "\u2028".encode(), b"\\u2028"),
    ),
    ("NDJSON: U+2028 (str.splitlines)", _nasty("ndjson", "\u2028".encode(), b"\\u2028")),
    ("CSV csvFormulas=neutralize (spreadsheets)", _formulas),
    ("GET /openapi.json", _openapi_agrees),
    ("GET /docs (interactive docs)", _get("/docs", "content-security-policy")),
    ("GET /metrics (Prometheus)", _get("/metrics")),
    ("GET /readyz", _get("/readyz")),
    ("GET / (the report page): CSP", _get("/", "content-security-policy")),
    ("GET /: X-Content-Type-Options", _get("/", "x-content-type-options")),
]


def run(python: str, port: int) -> list[tuple[str, str]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="agentcdr-clients-") as tmp_dir:
        tmp = Path(tmp_dir)
        with database("sqlite", tmp) as url:
            seed(url, python, tmp, quick=True)
            with (
                Serve(url, python, port, tmp) as serve,
                httpx.Client(base_url=serve.base, timeout=60) as client,
            ):
                for name, check in CHECKS:
                    try:
                        rows.append((name, check(client)))
                    except httpx.HTTPError as exc:
                        rows.append((name, f"no answer ({type(exc).__name__})"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the server")
    parser.add_argument("--port", type=int, default=18330)
    args = parser.parse_args()
    print("| behaviour | answer |")
    print("|---|---|")
    for name, result in run(args.python, args.port):
        print(f"| {name} | {result} |")


if __name__ == "__main__":
    main()
