"""``python -m bench.middleware``: what the HTTP middleware costs a small request.

The same small report (2 rows, JSON, the credential cache warm) through the app in-process,
interleaved: with every middleware, and with only those the app had before compression,
CORS, HEAD and metrics (the access log and the security headers); also with ``Accept-
Encoding: gzip`` (the answer is under the size worth compressing). CPU time per request,
medians of ``--rounds``; metrics in multiprocess mode, as under ``agentcdr serve``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# ApiPath is the endpoint itself (the API answered straight from the middleware stack).
BARE = ("AccessLog", "SecurityHeaders", "ApiPath")
PASSWORD = "bench-middleware"
DAY = "2025-05-13"


def prepare(tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'calls.db'}"
    cli = [sys.executable, "-m", "agentcdr", "--db", url, "--tz", "UTC"]
    demo = ["demo", "--days", "1", "--agents", "20", "--calls-per-day", "400", "--end-day", DAY]
    subprocess.run([*cli, *demo], check=True, capture_output=True)
    env = {**os.environ, "AGENTCDR_PASSWORD": PASSWORD}
    add = ["users", "add", "bench", "--all-tenants"]
    subprocess.run([*cli, *add], check=True, capture_output=True, env=env)
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.middleware", description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=2000, help="per round and variant")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        # Before prometheus_client is imported (when it already is, as in the tests, the
        # values stay in memory).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tmp
        try:
            url = prepare(Path(tmp))
            return asyncio.run(measure(url, args.rounds, args.requests))
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


async def measure(url: str, rounds: int, requests: int) -> int:
    from agentcdr.settings import Settings
    from agentcdr.store import open_call_store
    from agentcdr.web.app import create_app

    settings = Settings.load({"db": url, "tz": "UTC", "access_log": os.devnull}, environ={})
    store = open_call_store(url, settings)
    await store.open()
    users = await store.fetch_rows("SELECT agent FROM calls GROUP BY agent ORDER BY COUNT(*)")  # type: ignore[attr-defined]
    form = {
        "goAction": "agent_cdr",
        "goUser": "bench",
        "goPass": PASSWORD,
        "responsetype": "json",
        "fromDate": DAY,
        "toDate": DAY,
        "user": users[0][0],
    }
    body = urlencode(form).encode()
    full = create_app(settings, store)
    bare = create_app(settings, store)
    bare.user_middleware = [m for m in bare.user_middleware if m.cls.__name__ in BARE]  # type: ignore[attr-defined]
    variants = {"bare": (bare, False), "all": (full, False), "all, gzip asked": (full, True)}
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (app, gzip) in variants.items():
            started = time.process_time()
            for _ in range(requests):
                await _request(app, body, gzip)
            times[name].append((time.process_time() - started) / requests * 1000)
    await store.close()
    base = statistics.median(times["bare"])
    print(f"small report ({users[0][0]}), medians of {rounds} rounds of {requests} requests")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:16} {median:.3f} ms CPU/request  {median / base:.2f}x")
    return 0


async def _request(app: Any, body: bytes, gzip: bool) -> None:
    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    if gzip:
        headers.append((b"accept-encoding", b"gzip"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/goAPIv2/goReports/goAPI.php",
        "raw_path": b"/goAPIv2/goReports/goAPI.php",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    if status != 200:
        raise RuntimeError(f"the small report answered {status}")


if __name__ == "__main__":
    sys.exit(main())
