"""Logs that can be trusted: no request writes a line of its own into the access log, every
503 and a report that fails after its first bytes are logged with the request id, and the
errors of the HTTP layer (414, 431) carry the API's error body over a real socket."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from urllib.parse import quote

import pytest

from agentcdr.errors import DatabaseUnavailable
from agentcdr.store.sql import sqlite
from tests.conftest import API, ApiHarness
from tests.livserver import serve

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}
FORGED = '198.51.100.66 admin "GET /forged" 200 1 0.1ms rid=0000000000000000'


@pytest.mark.parametrize(
    ("suffix", "logged"),
    [
        ('"\n' + FORGED, "\\x22\\n198.51.100.66 admin \\x22GET /forged\\x22"),
        ("\r\x1b[2K" + FORGED, "\\r\\x1b[2K198.51.100.66"),
        ("\u2028" + FORGED, "\\u2028198.51.100.66"),
    ],
)
def test_a_path_cannot_forge_an_access_log_line(
    sqlite_api: ApiHarness, suffix: str, logged: str
) -> None:
    # What a client sends as %22%0A… arrives decoded in the path.
    response = sqlite_api.client.get(API + quote(suffix))
    assert response.status_code == 404
    lines = sqlite_api.log.read_text().splitlines()
    assert len(lines) == 1
    assert logged in lines[0]
    assert lines[0].startswith('203.0.113.9 - "GET /goAPIv2/goReports/goAPI.php')
    assert lines[0].endswith(f" 404 9 {lines[0].split(' 404 9 ')[1]}")
    assert "\x1b" not in lines[0]


def test_every_503_is_logged_with_the_request_id(
    sqlite_api: ApiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    assert sqlite_api.post(**DAY).status_code == 200
    path = sqlite_api.url.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    Path(path).write_bytes(b"this is not a database" * 100)
    sqlite_api.client.app.state.api.store._idle.clear()  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="agentcdr.api"):
        response = sqlite_api.post(**DAY)
        ready = sqlite_api.client.get("/readyz")
    assert response.status_code == 503
    assert ready.status_code == 503
    messages = [r.getMessage() for r in caplog.records if r.name == "agentcdr.api"]
    request_id = response.headers["x-request-id"]
    assert messages[0] == (
        f"request {request_id}: 503 10007: The database cannot be reached; try again later "
        "(DatabaseError: file is not a database)"
    )
    assert messages[1].startswith("request ")
    assert messages[1].endswith(": /readyz 503: The database cannot be reached; try again later")


def test_a_report_failing_after_its_first_bytes_is_logged(
    sqlite_url: str,
    open_api: object,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.conftest import USERS
    from tests.seed import seed

    seed(sqlite_url, users=USERS)
    api = open_api(sqlite_url, chunk_rows=1)  # type: ignore[operator]
    real = sqlite._SQLiteRows.fetch
    fetched = [0]

    async def failing(self: sqlite._SQLiteRows, rows: int) -> object:
        fetched[0] += 1
        if fetched[0] > 2:
            raise DatabaseUnavailable("The database cannot be read; try again later")
        return await real(self, rows)

    monkeypatch.setattr(sqlite._SQLiteRows, "fetch", failing)
    with (
        caplog.at_level(logging.WARNING, logger="agentcdr.api"),
        pytest.raises(DatabaseUnavailable),
    ):
        # A page (limit): its rows come from the store's row stream, one batch at a time.
        api.post(limit="100", **DAY)  # the app aborts the response: the client sees the error
    failed = [r.getMessage() for r in caplog.records if "first bytes" in r.getMessage()]
    assert len(failed) == 1
    assert failed[0].startswith("request ")
    assert failed[0].endswith(
        ": the report failed after its first bytes (The database cannot be read; try again "
        "later); connection aborted"
    )


def _raw(base: str, request: bytes) -> tuple[bytes, bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


@pytest.mark.socket
def test_414_and_431_carry_the_error_body_over_a_socket(sqlite_url: str, tmp_path: Path) -> None:
    from tests.conftest import USERS
    from tests.seed import seed

    seed(sqlite_url, users=USERS)
    end = b"Host: x\r\nConnection: close\r\n\r\n"
    with serve(sqlite_url, tmp_path) as base:
        status, body = _raw(
            base, b"GET " + API.encode() + b"?" + b"a=b&" * 9000 + b" HTTP/1.1\r\n" + end
        )
        assert status == b"HTTP/1.1 414 URI Too Long"
        assert body == (
            b'{"result":"error","code":"41014",'
            b'"message":"Request URI too long; the limit is 32768 bytes"}'
        )
        many = b"".join(b"X-Field-%d: v\r\n" % i for i in range(70))
        status, body = _raw(base, b"GET /healthz HTTP/1.1\r\n" + many + end)
        assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
        assert body == (
            b'{"result":"error","code":"41031","message":"Request header fields too large; '
            b'the limits are 64 fields and 32768 bytes"}'
        )
        big = b"X-Big: " + b"v" * 40_000 + b"\r\n"
        status, body = _raw(base, b"GET " + API.encode() + b" HTTP/1.1\r\n" + big + end)
        assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
        assert b'"code":"41031"' in body
        # Past granian's own limits (a 64 KiB URI, 100 fields) the server answers before
        # the app, with an empty body: documented in docs/api.md, "Limits".
        status, body = _raw(base, b"GET /healthz?" + b"a" * 70_000 + b" HTTP/1.1\r\n" + end)
        assert (status, body) == (b"HTTP/1.1 414 URI Too Long", b"")
        # TRACE, CONNECT and unknown methods reach the app and get its body.
        for method in (b"TRACE", b"CONNECT", b"BREW"):
            status, body = _raw(base, method + b" " + API.encode() + b" HTTP/1.1\r\n" + end)
            assert status == b"HTTP/1.1 405 Method Not Allowed"
            assert body.startswith(b'{"result":"error","code":"10009","message":"Method not')
