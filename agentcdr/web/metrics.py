"""Prometheus metrics: what is counted, the middleware that counts requests, and ``/metrics``.

Under ``agentcdr serve`` every worker process writes its values to files in a directory that
the command creates empty (``PROMETHEUS_MULTIPROC_DIR``, prometheus-client's multiprocess
mode), and ``/metrics``, answered by whichever worker gets the request, adds up the files of
all workers: counters and histograms are sums over every worker that ever ran, gauges the
sum over the live ones. Without that variable (the app run in-process), the values are the
process's own. Metrics carry counts only: no user name, tenant, address or credential.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import AsyncIterator
from typing import Final, Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentcdr.errors import ApiError, BadCredentials, DatabaseUnavailable
from agentcdr.store.base import CallStore

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "agentcdr_http_requests",
    "HTTP requests answered, by endpoint, format of the answer and status.",
    ["endpoint", "format", "status"],
)
REPORT_ROWS = Counter(
    "agentcdr_report_rows", "Rows sent in reports and summaries.", ["action", "format"]
)
REPORT_BYTES = Counter(
    "agentcdr_report_bytes",
    "Bytes of report and summary bodies as encoded, before any compression.",
    ["action", "format"],
)
REPORT_SECONDS = Histogram(
    "agentcdr_report_duration_seconds",
    "Time from a report request to its last byte (failed and aborted ones included).",
    ["action", "format"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
ACTIVE_STREAMS = Gauge(
    "agentcdr_active_streams", "Reports being streamed right now.", multiprocess_mode="livesum"
)
LOGIN_FAILURES = Counter(
    "agentcdr_login_failures", "Requests refused for an unknown user or a wrong password."
)
RATE_LIMITED = Counter(
    "agentcdr_rate_limited_requests",
    "Requests refused with 429, by the limit that refused them: login (the failed-login "
    "throttle), user_rate (requests per user per minute), user_reports and worker_reports "
    "(reports at once).",
    ["limit"],
)
SLOW_CLIENTS_CUT = Counter(
    "agentcdr_slow_client_reports_cut",
    "Streamed reports cut because the client took nothing for send_timeout seconds.",
)
DATABASE_ERRORS = Counter(
    "agentcdr_database_errors",
    "API requests that the database failed: unreachable or failing before the answer (10007), "
    "or during a streamed report (connection aborted).",
)
POOL_OPEN = Gauge(
    "agentcdr_store_pool_connections",
    "Connections the store's pools hold open (SQLite: none).",
    multiprocess_mode="livesum",
)
POOL_IN_USE = Gauge(
    "agentcdr_store_pool_in_use",
    "Connections of the store's pools lent out to a request.",
    multiprocess_mode="livesum",
)

_ENDPOINTS: Final = {
    "/": "page",
    "/docs": "docs",
    "/openapi.json": "openapi",
    "/healthz": "healthz",
    "/readyz": "readyz",
    "/metrics": "metrics",
    "/favicon.svg": "static",
    "/favicon.ico": "static",
}


def endpoint(path: str, api_path: str) -> str:
    if path == api_path:
        return "api"
    if path.startswith("/static/"):
        return "static"
    return _ENDPOINTS.get(path, "other")


def count_error(error: ApiError) -> None:
    """The error answers that the metrics single out (429s are counted by ``count_limit``,
    which knows the limit)."""
    if isinstance(error, BadCredentials):
        LOGIN_FAILURES.inc()
    elif isinstance(error, DatabaseUnavailable):
        DATABASE_ERRORS.inc()


# ``limits.Limits`` events -> the ``limit`` label of RATE_LIMITED.
_LIMITS: Final = {
    "login_throttled": "login",
    "rate_limited": "user_rate",
    "user_busy": "user_reports",
    "worker_busy": "worker_reports",
}


def count_limit(event: str) -> None:
    """What a limit refused (``limits.Limits``' observer), or a report it cut."""
    if event == "slow_client_cut":
        SLOW_CLIENTS_CUT.inc()
    else:
        RATE_LIMITED.labels(_LIMITS[event]).inc()


# The labelled series, looked up once per label values: ``labels()`` checks and locks on
# every call, a cost on every request.
@functools.cache
def _requests(where: str, fmt: str, status: int) -> Counter:
    return REQUESTS.labels(where, fmt, str(status))


@functools.cache
def _report(action: str, fmt: str) -> tuple[Counter, Counter, Histogram]:
    return (
        REPORT_ROWS.labels(action, fmt),
        REPORT_BYTES.labels(action, fmt),
        REPORT_SECONDS.labels(action, fmt),
    )


def count_report(action: str, fmt: str, rows: int, size: int, started: float) -> None:
    counted_rows, counted_bytes, seconds = _report(action, fmt)
    counted_rows.inc(rows)
    counted_bytes.inc(size)
    seconds.observe(time.perf_counter() - started)


async def observed(
    body: AsyncIterator[bytes], action: str, fmt: str, started: float, rows: RowCount
) -> AsyncIterator[bytes]:
    """A streamed body, counted: an active stream while it runs, then its rows, bytes and
    duration (also when the client went away or the database failed)."""
    ACTIVE_STREAMS.inc()
    size = 0
    try:
        async for chunk in body:
            size += len(chunk)
            yield chunk
    except DatabaseUnavailable:
        DATABASE_ERRORS.inc()
        raise
    finally:
        ACTIVE_STREAMS.dec()
        count_report(action, fmt, rows.count, size, started)


class RowCount(Protocol):
    """What has a row count by the end of its stream (``paging.Page``)."""

    count: int


def observe_pool(store: CallStore) -> None:
    use = store.pool_use()
    if use is not None:
        POOL_OPEN.set(use.open)
        POOL_IN_USE.set(use.in_use)


class Metrics:
    """Counts every HTTP request by endpoint, the format the API answered in (set by the API
    in the request's state) and status; refreshes the pool gauges."""

    def __init__(self, app: ASGIApp, store: CallStore, api_path: str) -> None:
        self.app = app
        self.store = store
        self.api_path = api_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = endpoint(scope["path"], self.api_path)
        counted = False

        def count(status: int) -> None:
            nonlocal counted
            counted = True
            state = scope.get("state") or {}
            _requests(where, state.get("format", ""), status).inc()

        async def counting(message: Message) -> None:
            # Counted as the answer starts: before the client can have it all and ask again.
            if message["type"] == "http.response.start":
                count(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            if not counted:
                count(500)  # the server answers 500 when the app fails before its start
            if where == "api":
                observe_pool(self.store)


_LIVE_FILE: Final = re.compile(r"^gauge_live\w*?_(\d+)\.db$")


def exposition(store: CallStore, accept: str | None) -> tuple[bytes, str]:
    """The metrics in the format ``accept`` asks for (OpenMetrics, else Prometheus text),
    and its media type."""
    observe_pool(store)
    encode, media_type = choose_encoder(accept or "")
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return encode(REGISTRY), media_type
    # A worker that died (and was replaced) no longer holds streams or connections.
    for name in os.listdir(directory):
        match = _LIVE_FILE.match(name)
        if match and not _alive(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), directory)  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
    return encode(registry), media_type


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
