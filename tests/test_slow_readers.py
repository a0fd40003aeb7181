"""Slow readers against a real ``agentcdr serve``, on every store: clients that ask for a big
report and then read nothing cannot hold the server. They are cut after ``send_timeout`` and
give their connections back; meanwhile other requests get a connection or a quick 503, and
/healthz answers."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import API
from tests.livserver import AGENTCDR, serve

pytestmark = pytest.mark.socket

PASSWORD = "slow reader password"
DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}


def _form(**extra: str) -> dict[str, str]:
    return {
        "goAction": "agent_cdr",
        "goUser": "reader",
        "goPass": PASSWORD,
        "responsetype": "json",
        **DAY,
        **extra,
    }


def _seed(url: str) -> None:
    env = {**os.environ, "AGENTCDR_TZ": "America/New_York", "AGENTCDR_PASSWORD": PASSWORD}
    for args in (
        [
            "demo",
            "--days",
            "1",
            "--agents",
            "50",
            "--calls-per-day",
            "60000",
            "--end-day",
            "2025-05-13",
        ],
        ["users", "add", "reader", "--all-tenants"],
    ):
        subprocess.run([*AGENTCDR, "--db", url, *args], check=True, env=env, capture_output=True)


@contextlib.contextmanager
def slow_readers(base: str, count: int, **extra: str) -> Iterator[list[socket.socket]]:
    """``count`` clients that send a whole-day report request (about 10 MB of JSON), take
    the first bytes of the answer and then read nothing."""
    host, port = base.removeprefix("http://").split(":")
    body = urlencode(_form(**extra)).encode()
    request = (
        f"POST {API} HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect((host, int(port)))
            sock.sendall(request)
            sockets.append(sock)
        for sock in sockets:
            sock.settimeout(30)
            sock.recv(1024)  # the status line: the report is running
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def _until(check: object, seconds: float = 60) -> object:
    """Polls ``check`` (a callable) until it returns something true; its last answer."""
    deadline = time.monotonic() + seconds
    while True:
        answer = check()  # type: ignore[operator]
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


@pytest.fixture
def slow_server(store_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    sep = "&" if "?" in store_url else "?"
    url = store_url if store_url.startswith("sqlite") else f"{store_url}{sep}pool_size=2"
    _seed(url)
    settings = {
        "AGENTCDR_SEND_TIMEOUT": "3",
        "AGENTCDR_POOL_TIMEOUT": "1",
        "AGENTCDR_USER_CONCURRENT_REPORTS": "40",
        "AGENTCDR_WORKER_CONCURRENT_REPORTS": "40",
    }
    with serve(url, tmp_path, **settings) as base:
        yield base, url


def test_slow_readers_are_cut_and_the_server_keeps_answering(
    slow_server: tuple[str, str], tmp_path: Path
) -> None:
    base, url = slow_server
    small = _form(limit="1")
    # Pages of rows: each reader holds its connection while it streams (a whole report is
    # read in slices and holds none while its client waits: the test below).
    with (
        slow_readers(base, 3, limit="1000000"),
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        # While they hold the pool (two connections on a server store), /healthz answers
        # from its own connection, and a report gets a connection or a quick 503.
        assert client.get("/healthz").json() == {"status": "ok"}
        response = client.post(API, data=small)
        if url.startswith("sqlite"):
            assert response.status_code == 200
        else:
            assert response.status_code == 503
            assert response.json() == {
                "result": "error",
                "code": "10007",
                "message": "No database connection is free; try again later",
            }
        # After send_timeout the readers are cut (the log says so, with their request ids),
        # and their connections serve others.
        log = tmp_path / "server.out"
        held = 3 if url.startswith("sqlite") else 2  # the third waited for a connection

        def cut() -> list[str]:
            return [line for line in log.read_text().splitlines() if "report cut" in line]

        assert _until(lambda: len(cut()) == held), log.read_text()[-3000:]
        assert all(line.startswith("request ") for line in cut())
        assert _until(lambda: client.post(API, data=small).status_code == 200)
        assert "Traceback" not in log.read_text()


def test_slow_readers_of_whole_reports_hold_no_connection(
    slow_server: tuple[str, str], tmp_path: Path
) -> None:
    """A whole report is rendered in slices, each read on a connection for as long as it
    takes; a reader that waits holds text, not a connection: others are answered at once."""
    base, _ = slow_server
    with slow_readers(base, 3), httpx.Client(base_url=base, timeout=30) as client:
        assert client.post(API, data=_form(limit="1")).status_code == 200
        log = tmp_path / "server.out"

        def cut() -> list[str]:
            return [line for line in log.read_text().splitlines() if "report cut" in line]

        assert _until(lambda: len(cut()) == 3), log.read_text()[-3000:]
    assert "Traceback" not in log.read_text()
