"""Where a first load into SQLite spends its time, phase by phase, on one CSV file.

Usage: ``python -m bench.import_phases [--csv PATH] [--tz ZONE]`` (by default data set A's
CSV, which ``make bench`` generates into ``bench/data/``). In this process, one after the
other: the reader's CPU as the child process of ``agentcdr import`` spends it (the ``csv``
module alone; with validation and building the rows; with pickling the batches), then the
writer's phases on a new store in a temporary folder, with the settings of the import's
first load (``store.sql.sqlite``): the inserts into the table without its indexes, the
unique key, each index, and the commit. In an import the reader and the writer run in two
processes side by side, so the phases do not add up to its time.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import pickle
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.data import TZ

ROOT = Path(__file__).resolve().parent.parent


def _default_csv() -> Path:
    found = sorted((ROOT / "bench" / "data").glob("calls-30d-*.csv"))
    if not found:
        raise SystemExit("no data set A in bench/data/: run make bench (or --import-only) first")
    return found[0]


def reader(path: Path, tz: ZoneInfo) -> None:
    from agentcdr.ingest import BATCH_ROWS
    from agentcdr.ingest.fields import Builders
    from agentcdr.ingest.readers import csv_batches

    def cpu(what: str, work: Callable[[], None]) -> None:
        started = time.process_time()
        work()
        print(f"reader: {what}: {time.process_time() - started:.2f} s CPU")

    def rows_only() -> None:
        with path.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            for _ in csv.reader(text):
                pass

    def batches(pickled: bool) -> None:
        with path.open("rb") as raw:
            for batch in csv_batches(raw, str(path), Builders(tz), BATCH_ROWS, print):
                if pickled:
                    pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)

    cpu("csv module", rows_only)
    cpu("csv module, validation, rows", lambda: batches(False))
    cpu("csv module, validation, rows, pickle", lambda: batches(True))


def writer(path: Path, tz: ZoneInfo, folder: Path) -> None:
    from agentcdr.ingest import BATCH_ROWS
    from agentcdr.ingest.fields import Builders
    from agentcdr.ingest.readers import csv_batches
    from agentcdr.store import open_call_store
    from agentcdr.store.sql import sqlite as store_module
    from agentcdr.store.sql.schema import CALL_INDEXES, UNIQUE_KEY, create_index

    db_path = folder / "phases.db"

    async def create() -> None:  # the schema, as agentcdr makes it
        store = open_call_store(f"sqlite:///{db_path}")
        await store.open()
        await store.close()

    asyncio.run(create())
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute(f"PRAGMA cache_size = -{store_module.WRITE_CACHE_KIB}")
    db.execute("BEGIN IMMEDIATE")
    for name in ("calls_key", *CALL_INDEXES):
        db.execute(f"DROP INDEX IF EXISTS {name}")
    sql = store_module.insert_sql(int(time.time()), 1)
    inserting = 0.0
    with path.open("rb") as raw:
        for batch in csv_batches(raw, str(path), Builders(tz), BATCH_ROWS, print):
            started = time.perf_counter()
            db.executemany(sql, batch)
            inserting += time.perf_counter() - started
    print(f"writer: inserts: {inserting:.2f} s")
    db.execute(f"PRAGMA cache_size = -{store_module.SORT_CACHE_KIB}")
    db.execute(f"PRAGMA threads = {store_module.SORT_THREADS}")
    steps = [("unique key", UNIQUE_KEY)] + [(name, create_index(name)) for name in CALL_INDEXES]
    for name, statement in [*steps, ("commit", "COMMIT")]:
        started = time.perf_counter()
        db.execute(statement)
        print(f"writer: {name}: {time.perf_counter() - started:.2f} s")
    db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_phases", description=__doc__)
    parser.add_argument("--csv", type=Path, help="the file (default: data set A's CSV)")
    parser.add_argument("--tz", default=TZ, help=f"the file's zone (default {TZ})")
    args = parser.parse_args(argv)
    path = args.csv or _default_csv()
    tz = ZoneInfo(args.tz)
    print(f"{path}: {path.stat().st_size / 1e6:,.1f} MB")
    reader(path, tz)
    with tempfile.TemporaryDirectory(prefix="agentcdr-phases-") as folder:
        writer(path, tz, Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
