"""``python -m bench.profile``: where a server worker's time goes, sampled by py-spy.

    python -m bench.profile small  [--store sqlite] [--dataset demo] [--seconds 10]
    python -m bench.profile report [--store sqlite] [--dataset demo] [--format json]
                                   [--range all]

Serves a store that ``make bench`` loaded (data set A, or B with ``--dataset wide``; kept in
``bench/data/`` or in its database server) with one worker, and records that worker with
py-spy while it works:
``small`` under wrk at 32 connections with the small report (one agent, one day), as the
load test sends it; ``report`` while curl reads the whole-range report (or ``--range 1d``)
again and again. Prints the share of samples in which each function runs itself ("own")
and in which it is on the stack ("on stack"), for the functions on top; samples of idle
threads are left out. py-spy comes from PyPI (a dev dependency); it reads the worker's
memory, which needs ``ptrace`` rights (root, or ``kernel.yama.ptrace_scope`` 0).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench import load
from bench.data import SHAPES, prepare, spec_of
from bench.run import ALL_STORES, ROOT
from bench.server import Server, form_body


def frames(raw: Path) -> tuple[Counter[str], Counter[str], int]:
    """Own and on-stack sample counts per function (``name (file)``), and all samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        names = [_function(frame) for frame in stack.split(";")]
        total += count
        own[names[-1]] += count
        for name in set(names):
            inclusive[name] += count
    return own, inclusive, total


def _function(frame: str) -> str:
    """``render (agentcdr/render.py:96)`` -> ``render (agentcdr/render.py)``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = path.split(str(ROOT) + "/", 1)[-1]
    return f"{name} ({path})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("what", choices=("small", "report"))
    parser.add_argument("--store", default="sqlite", choices=sorted(ALL_STORES))
    parser.add_argument("--format", default="json", help="report format (report only)")
    parser.add_argument("--range", default="all", choices=("all", "1d"), help="report only")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument(
        "--dataset", default="demo", choices=sorted(SHAPES), help="A: demo (default), B: wide"
    )
    args = parser.parse_args(argv)
    # The venv's own py-spy (its bin/ may not be on PATH), else one on PATH.
    beside = Path(sys.executable).with_name("py-spy")
    py_spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if py_spy is None:
        parser.error("py-spy is not installed (it is a dev dependency: make .venv/.dev)")
    spec = spec_of("full", args.dataset)
    if not spec.csv_path(args.data_dir).exists():  # (prepare would generate it)
        parser.error(f"no data set {args.dataset} in {args.data_dir}: run make bench first")
    data = prepare(spec, args.data_dir)
    store = ALL_STORES[args.store](data, args.data_dir)
    if store.count() != data.rows:
        parser.error(f"{store.title} does not hold data set {args.dataset}: run make bench first")
    store.add_user()  # (there already, unless the store was loaded by --import-only)
    with tempfile.TemporaryDirectory(prefix="agentcdr-profile-") as tmp_dir:
        tmp = Path(tmp_dir)
        with Server(store, tmp, workers=1) as server:
            (worker,) = server.worker_pids()
            raw = tmp / "profile.txt"
            stop = threading.Event()
            if args.what == "small":
                body = form_body(data.small, "json")
                for _ in range(12):  # the credential cache warm, as the load test does
                    server.request(data.small, "json", close=True)
                loader = threading.Thread(
                    target=load.wrk, args=(server.url, body, 32, args.seconds + 2, tmp)
                )
            else:
                rng = data.all_days if args.range == "all" else data.one_day

                def reports() -> None:
                    while not stop.is_set():
                        server.request(rng, args.format)

                loader = threading.Thread(target=reports)
            loader.start()
            time.sleep(1)
            subprocess.run(
                [py_spy, "record", "--pid", str(worker), "--duration", str(args.seconds),
                 "--rate", "250", "--format", "raw", "--output", str(raw), "--nonblocking"],
                check=True, capture_output=True,
            )  # fmt: skip
            stop.set()
            loader.join()
        own, inclusive, total = frames(raw)
    what = (
        f"the small report ({data.small.user}, {data.small.rows} rows) under wrk, 32 connections"
        if args.what == "small"
        else f"the {args.range} report in {args.format}, read again and again"
    )
    print(f"{store.title}, one worker, {what}: {total:,} samples in {args.seconds} s")
    print(f"{'own':>6} {'on stack':>9}  function")
    for name, count in own.most_common(args.top):
        print(f"{count / total:6.1%} {inclusive[name] / total:9.1%}  {name}")
    print("\non stack (the largest, own time included):")
    for name, count in inclusive.most_common(args.top):
        print(f"{own[name] / total:6.1%} {count / total:9.1%}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
