"""SQLite in a server worker: its memory statistics off (``store.sql.sqlite_process``), so a
report's slices render on every core; and what a served report renders that way equals the
same rows rendered in Python, byte for byte."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from agentcdr.store.slices import SLICE_BYTES
from tests.conftest import USERS
from tests.livserver import serve
from tests.seed import PASSWORD, seed, ts
from tests.test_rendered import calls

# In a fresh interpreter: whether the statistics count this process's allocations once a
# connection has worked, and how many slices of a report render at once on two cores.
PROBE = """
import ctypes, sqlite3, sys, _sqlite3
from agentcdr.store.sql.sqlite_process import render_threads, unshare_memory_statistics
turned_off = unshare_memory_statistics() if sys.argv[1] == "unshare" else None
db = sqlite3.connect(":memory:")
db.execute("CREATE TABLE t (x)")
db.executemany("INSERT INTO t VALUES (?)", [("x" * 100,)] * 1000)
used, high = ctypes.c_int64(), ctypes.c_int64()
lib = ctypes.CDLL(_sqlite3.__file__)
assert lib.sqlite3_status64(0, ctypes.byref(used), ctypes.byref(high), 0) == 0
print(turned_off, used.value > 0, render_threads(2))
"""


def probe(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_a_server_worker_turns_sqlite_memory_statistics_off() -> None:
    assert probe("keep") == "None True 1"  # SQLite's default: counted, one slice at a time
    assert probe("unshare") == "True False 2"


def test_the_server_worker_factory_turns_them_off(sqlite_url: str, tmp_path: Path) -> None:
    # What each worker of `agentcdr serve` runs first (web.app.app_from_env), for a SQLite
    # store; a PostgreSQL URL leaves SQLite as it is (the app is not started either way).
    code = (
        "from agentcdr.web.app import app_from_env; "
        "from agentcdr.store.sql.sqlite_process import render_threads; "
        "app_from_env(); print(render_threads(2))"
    )
    env = {**os.environ, "AGENTCDR_ACCESS_LOG": str(tmp_path / "access.log")}
    for url, threads in ((sqlite_url, "2"), ("postgresql://nobody@127.0.0.1:1/none", "1")):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True, text=True, check=True, env={**env, "AGENTCDR_DB": url},
        )  # fmt: skip
        assert out.stdout.strip() == threads, (url, out.stderr)


@pytest.mark.socket
def test_slices_rendered_on_every_core_equal_the_python_rendering(
    sqlite_url: str, tmp_path: Path
) -> None:
    # 15,000 calls with hostile text in one day: a whole report is a head and several slices
    # of about 500 kB (store.slices), some with values to escape; with ``limit`` the same
    # rows are rendered in Python.
    day = ts("2025-05-13 00:00:00")
    records = [
        r._replace(answer_ts=day + 5 * n)
        for n, r in enumerate(calls(nul=True, hostile=0.2, count=15_000))
    ]
    seed(sqlite_url, records, USERS)
    form = {
        "goAction": "agent_cdr",
        "goUser": "admin",
        "goPass": PASSWORD,
        "fromDate": "2025-05-13",
        "toDate": "2025-05-13",
    }
    url = "/goAPIv2/goReports/goAPI.php"
    with (
        serve(sqlite_url, tmp_path, "--workers", "1") as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        for kind in ("csv", "ndjson", "json"):
            whole = client.post(url, data={**form, "responsetype": kind})
            paged = client.post(url, data={**form, "responsetype": kind, "limit": 20_000})
            assert whole.status_code == paged.status_code == 200
            if kind == "json":
                rows = orjson.loads(whole.content)["data"]["rows"]
                assert len(rows) == len(records)
                assert rows == orjson.loads(paged.content)["data"]["rows"]
            else:
                assert len(whole.content) > 3 * SLICE_BYTES, kind  # several slices
                assert whole.content == paged.content, kind
