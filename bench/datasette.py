"""Datasette beside agentcdr: a generic SQLite API serving the same file, its CSV timed too.

Datasette is no dependency of agentcdr: the benchmark installs one pinned version into a
virtual environment of its own (``bench/.datasette/``, git-ignored) on first use, and
serves the SQLite store's file with it (immutable: nothing writes during the benchmark,
which is Datasette's fastest way to read). Its streamed CSV of a range is the table view
with the range as filters, ``?_stream=on&_size=max``, newest first: the same rows as the
report. (``_stream`` follows the table view's pages; a SQL query's CSV would stop at
``max_returned_rows``.) Its rows hold the stored values: epoch seconds and seconds where
agentcdr renders times and durations.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Final
from urllib.parse import urlencode

from bench.data import Range
from bench.stores import Export, run_command

VERSION: Final = "0.65.5"
VENV: Final = Path(__file__).resolve().parent / ".datasette"
EXECUTABLE: Final = VENV / "bin" / "datasette"
LABEL: Final = "Datasette CSV"
# The columns of the report, as stored.
COLUMNS: Final = (
    "agent", "answer_ts", "disposition", "phone_number", "loan_number", "call_type",
    "duration_sec", "lead_id", "term_reason", "portfolio", "campaign_name",
)  # fmt: skip


def installed_version() -> str | None:
    try:
        out = run_command([str(EXECUTABLE), "--version"])
    except (OSError, RuntimeError):
        return None
    return out.strip().rsplit(" ", 1)[-1]


def install() -> str | None:
    """Datasette ``VERSION`` in ``VENV``; why not, when it cannot be installed."""
    if installed_version() == VERSION:
        return None
    print(f"bench: installing Datasette {VERSION} into {VENV} (once)", flush=True)
    try:
        if not (VENV / "bin" / "python").exists():
            run_command([sys.executable, "-m", "venv", str(VENV)])
        run_command([str(VENV / "bin" / "pip"), "install", "--quiet", f"datasette=={VERSION}"])
    except (OSError, RuntimeError) as exc:
        return f"Datasette {VERSION} could not be installed: {exc}"
    return None if installed_version() == VERSION else "Datasette did not install"


@contextlib.contextmanager
def serving(database: Path, port: int, log: Path) -> Iterator[str]:
    """``datasette serve`` of ``database`` on 127.0.0.1:``port``; yields its base URL."""
    argv = [
        str(EXECUTABLE), "serve", "--immutable", str(database), "--host", "127.0.0.1",
        "--port", str(port), "--setting", "max_csv_mb", "0",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"Datasette exited: {log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(base + "/-/versions.json", timeout=2) as answer,
            ):
                if answer.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"Datasette did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def export(base: str, database: Path, rng: Range) -> Export:
    """Datasette's streamed CSV of the range's rows (curl, body to standard output)."""
    query = [
        ("_stream", "on"), ("_size", "max"), ("answer_ts__gte", str(rng.start_ts)),
        ("answer_ts__lt", str(rng.end_ts)), ("_sort_desc", "answer_ts"),
        *(("_col", c) for c in COLUMNS),
    ]  # fmt: skip
    url = f"{base}/{database.stem}/calls.csv?{urlencode(query)}"
    return Export(LABEL, ["curl", "-sS", "--fail", url], "csv", False)
