"""SQLite rendering a report's slices in one thread and in two, with its memory statistics
on (SQLite's default) and off (what ``agentcdr serve``'s workers set:
``store.sql.sqlite_process``): the wall time and the process's CPU time of each.

Usage: ``python -m bench.sqlite_threads [--db PATH] [--days N]`` on data set A's SQLite
store, which ``make bench`` makes. Each setting runs in a fresh interpreter, as SQLite's
statistics can be turned off only before any connection is open.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
SLICES = 40


def _measure(db: Path, days: int, threads: int, unshare: bool) -> tuple[float, float]:
    """(wall s, CPU s) of rendering ``days`` of JSON rows in ``SLICES`` slices."""
    import sqlite3

    from agentcdr.records import DEFAULT_FIELDS, ReportRequest
    from agentcdr.render import RowStyle
    from agentcdr.store.sql.rendered import row_sql
    from agentcdr.store.sql.schema import SQLITE
    from agentcdr.store.sql.sqlite import joined_query
    from agentcdr.store.sql.sqlite_process import unshare_memory_statistics

    if unshare and not unshare_memory_statistics():
        raise SystemExit("SQLite's memory statistics could not be turned off")
    conns = [
        sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False) for _ in range(2)
    ]
    end = conns[0].execute("SELECT max(answer_ts) + 1 FROM calls").fetchone()[0]
    start = end - days * 86400
    style = RowStyle("json", DEFAULT_FIELDS, ZoneInfo("UTC"))
    edges = [start + (end - start) * i // SLICES for i in range(SLICES + 1)]
    # The statements the store runs for the slices of a report (store.sql.sqlite).
    parts = [
        joined_query(
            ReportRequest(lo, hi, tz=style.tz), row_sql(style, SQLITE.name, lo, hi), style.kind
        )
        for lo, hi in itertools.pairwise(edges)
    ]

    def work(conn: sqlite3.Connection, mine: list[tuple[str, list[object]]]) -> None:
        for sql, params in mine:
            conn.execute(sql, params).fetchone()

    work(conns[0], parts)  # unmeasured: the file's pages into the OS cache
    wall, cpu = time.perf_counter(), time.process_time()
    workers = [
        threading.Thread(target=work, args=(conns[i], parts[i::threads])) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sqlite_threads")
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "data" / "agentcdr_bench.db")
    parser.add_argument("--days", type=int, default=7, help="days of calls to render")
    parser.add_argument("--runs", type=int, default=3, help="runs of each setting (median)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.db.exists():
        parser.error(f"no SQLite store at {args.db}: run make bench first (or give --db)")
    if args.child:
        wall, cpu = _measure(args.db, args.days, int(args.child[0]), args.child[1] == "off")
        print(f"{wall} {cpu}")
        return 0
    print(f"{args.days} days of JSON rows from {args.db}, {SLICES} slices; medians of {args.runs}")
    for stats in ("on", "off"):
        for threads in (1, 2):
            runs = []
            for _ in range(args.runs):
                out = subprocess.run(
                    [sys.executable, "-m", "bench.sqlite_threads", "--db", str(args.db),
                     "--days", str(args.days), "--child", str(threads), stats],
                    capture_output=True, text=True, check=True, cwd=ROOT,
                )  # fmt: skip
                runs.append(tuple(map(float, out.stdout.split())))
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(
                f"memory statistics {stats:3}, {threads} thread(s): "
                f"{wall:.2f} s wall, {cpu:.2f} s CPU"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
