"""``python -m bench.run`` (``make bench``): the whole benchmark, data set by data set, store
by store.

For each data set and store: load the data set with ``agentcdr import`` (timed), start
``agentcdr serve``, check once that the API and the database CLI return the same rows, then
time the one-day and the whole-range report in JSON, XML and CSV, plain and compressed, and
the range's summary by agent, beside the CLI export and (SQLite) Datasette's CSV,
interleaved, medians of ``--runs``, with the server's peak memory; then put a two-worker
server under wrk. Prints a table and writes the
Markdown (``--out``) and the raw results (``bench/out/``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Final

from bench import datasette, load, machine, report
from bench.data import SHAPES, DataSet, Range, describe, prepare, spec_of
from bench.server import Server, Timing, form_body, free_port, run_export
from bench.stores import STORES, Export, SQLiteStore, Store
from bench.verify import compare, rows
from bench.vicidial import VicidialStore

ROOT: Final = Path(__file__).resolve().parent.parent
FORMATS: Final = ("json", "xml", "csv")
# The summary timed beside each report: the same range grouped by agent, in JSON (what the
# report page asks for first).
SUMMARY_BY: Final = "user"
# The same reports compressed (``FORMAT+CODING``: Accept-Encoding: CODING), bytes on the wire:
# each format with gzip (issue 13's target), and JSON with zstd.
COMPRESSED: Final = ("json+gzip", "xml+gzip", "csv+gzip", "json+zstd")
VARIANTS: Final = FORMATS + COMPRESSED
WARM_UP_SECONDS: Final = 3
ALL_STORES: Final[dict[str, type[Store]]] = {**STORES, "vicidial": VicidialStore}

Result = dict[str, Any]


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


def _median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else 0.0


def measure_range(
    server: Server, store: Store, rng: Range, runs: int, tmp: Path, others: list[Export]
) -> Result:
    """One range: a verifying (and warming) pass, then ``runs`` interleaved timed passes
    (``others``: exports of other tools, Datasette's)."""
    exports = store.exports(rng) + others
    reference = next(e for e in exports if e.reference)
    api_file, export_file = tmp / "api.csv", tmp / "export.out"
    counted: Result = {}
    once: dict[str, Timing] = {}
    try:
        server.request(rng, "csv", api_file)
        run_export(reference, export_file)
        check = compare(api_file, export_file, reference.kind)
        for other in others:
            # Timed once, in this pass: Datasette's CSV of 30 days takes minutes, several
            # times any other figure, so a median of runs would only lengthen the bench.
            once[other.label] = run_export(other, export_file)
            counted["datasette_rows"] = sum(1 for _ in rows(export_file, "csv", header=True))
    finally:
        api_file.unlink(missing_ok=True)
        export_file.unlink(missing_ok=True)
    if not check.equal:
        say(
            f"  {rng.label}: API and {reference.label} differ: {check.api_rows:,} vs "
            f"{check.export_rows:,} rows, first at row {check.first_difference}: "
            f"{check.api_row} != {check.export_row}"
        )
    api: dict[str, Result] = {
        f: {"runs": [], "cpu": [], "peak_rss_kb": [], "bytes": 0} for f in VARIANTS
    }
    cli: dict[str, Result] = {
        e.label: {"runs": [], "cpu": [], "reference": e.reference, "kind": e.kind} for e in exports
    }
    summary: Result = {"group_by": SUMMARY_BY, "runs": [], "cpu": [], "peak_rss_kb": [], "bytes": 0}

    def timed(entry: Result, timing: Timing) -> None:
        entry["runs"].append(timing.seconds)
        entry["cpu"].append(timing.cpu_s)
        if "peak_rss_kb" in entry:
            entry["peak_rss_kb"].append(timing.peak_rss_kb)
            entry["bytes"] = timing.size
            entry["encoding"] = timing.encoding

    for label, timing in once.items():
        timed(cli[label], timing)
    for _ in range(runs):
        for fmt in VARIANTS:
            timed(api[fmt], server.request(rng, fmt))
        timed(summary, server.request(rng, "json", group_by=SUMMARY_BY))
        for export in exports:
            if export.label not in once:
                timed(cli[export.label], run_export(export))
    for entry in (*api.values(), *cli.values(), summary):
        entry["median_s"] = _median(entry["runs"])
        entry["cpu_median_s"] = _median(entry["cpu"])
    line = ", ".join(f"{f} {api[f]['median_s']:.3f} s" for f in FORMATS)
    line += f", summary by {SUMMARY_BY} {summary['median_s']:.3f} s"
    line += "".join(f", {k} {v['median_s']:.3f} s" for k, v in cli.items())
    say(f"  {rng.label} ({rng.rows:,} rows): {line}")
    return {
        "range": asdict(rng),
        "api": api,
        "summary": summary,
        "exports": cli,
        "verified": asdict(check) | {"equal": check.equal, "against": reference.label},
        **counted,
    }


def load_tests(server: Server, data: DataSet, seconds: int, tmp: Path) -> Result:
    """wrk against ``server``: the small report at 32 connections, the one-day at 1 and 4."""
    out: Result = {}

    def measure(rng: Range, connections: int) -> load.LoadResult:
        # Unmeasured requests first. A dozen one at a time, each on a new connection, fill
        # every worker's credential cache: when it is cold, each of N concurrent first
        # requests verifies the password hash (~0.3 s of CPU each), and 32 at once stall a
        # worker for seconds. Then a short run warms the database's pages.
        for _ in range(12):
            server.request(rng, "json", close=True)
        load.wrk(server.url, _body(rng), min(connections, 4), WARM_UP_SECONDS, tmp)
        cpu = server.cpu_seconds()
        result = load.wrk(server.url, _body(rng), connections, seconds, tmp)
        return replace(result, server_cpu_s=server.cpu_seconds() - cpu)

    if server.workers > 1:
        small = measure(data.small, 32)
        out["small_c32"] = _load_entry(small)
        say(
            f"  small report, 32 connections, {server.workers} workers: "
            f"{small.per_second:,.0f} req/s, p50 {small.p50_ms:.1f} ms, "
            f"p99 {small.p99_ms:.1f} ms, server CPU {small.cpu_ms_per_request:.2f} ms/request"
        )
    for connections in (1, 4):
        result = measure(data.one_day, connections)
        out[f"day_c{connections}"] = _load_entry(result)
        say(
            f"  1-day report, {connections} connection(s), {server.workers} worker(s): "
            f"{result.per_second:.2f} reports/s, p50 {result.p50_ms:.0f} ms"
        )
    return out


def _load_entry(result: load.LoadResult) -> Result:
    return asdict(result) | {
        "per_second": result.per_second,
        "cpu_ms_per_request": result.cpu_ms_per_request,
    }


def _body(rng: Range) -> str:
    return form_body(rng, "json")


def bench_store(
    store: Store, data: DataSet, args: argparse.Namespace, out_dir: Path, previous: Result
) -> Result:
    result: Result = {
        "store": store.name,
        "title": store.title,
        "when": _now(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "commit": machine.git_commit(),
    }
    reason = store.unavailable()
    if reason:
        say(f"{store.title}: skipped: {reason}")
        return result | {"skipped": reason}
    say(f"{store.title}: {store.url}")
    if args.reuse and store.loaded():
        say("  data already loaded (--reuse): import not timed, its last result kept")
        result["import"] = previous.get("import")
    else:
        result["import"] = timed_load(store)
    store.add_user()
    tmp = out_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        others: Callable[[Range], list[Export]] = lambda rng: []  # noqa: E731
        if isinstance(store, SQLiteStore):
            if args.no_datasette:
                result["datasette_skipped"] = "--no-datasette"
            elif reason := datasette.install():
                say(f"  Datasette skipped: {reason}")
                result["datasette_skipped"] = reason
            else:
                log = out_dir / f"datasette-{store.database}.log"
                base = stack.enter_context(datasette.serving(store.path, free_port(), log))
                others = lambda rng: [datasette.export(base, store.path, rng)]  # noqa: E731
        server = stack.enter_context(Server(store, out_dir, workers=1, port=args.port))
        result["idle_rss_kb"] = server.rss_kb()
        result["login_peak_rss_kb"] = server.login_peak_kb()
        result["ranges"] = {
            rng.key: measure_range(server, store, rng, args.runs, tmp, others(rng))
            for rng in (data.one_day, data.all_days)
        }
        if not args.no_load and not load.missing():
            result["load_w1"] = load_tests(server, data, args.load_seconds, tmp)
    if args.no_load:
        result["load_skipped"] = "--no-load"
    elif reason := load.missing():
        say(reason)
        result["load_skipped"] = reason
    else:
        with Server(store, out_dir, workers=2, port=args.port) as server:
            result["load_w2"] = load_tests(server, data, args.load_seconds, tmp)
    return result


def timed_load(store: Store) -> Result:
    """The store's load, then its CLI's bulk load of the same file (``Store.cli_load``)."""
    loaded = store.load()
    say(
        f"  load: {loaded.rows:,} rows in {loaded.seconds:.1f} s ({loaded.rows_per_s:,.0f}/s; "
        f"load average before {loaded.load_average})"
    )
    result = asdict(loaded) | {"rows_per_s": loaded.rows_per_s, "target": store.import_target}
    try:
        cli = store.cli_load()
    except RuntimeError as exc:  # the reference failed: the import's figures stand
        say(f"  the CLI's bulk load failed: {exc}")
        return result | {"cli_error": str(exc)}
    if cli is not None:
        say(f"  {cli.tool}: {cli.seconds:.1f} s ({cli.rows_per_s:,.0f}/s)")
        result["cli"] = asdict(cli) | {"rows_per_s": cli.rows_per_s}
        result["vs_cli"] = loaded.seconds / cli.seconds
    return result


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--stores",
        default=",".join(ALL_STORES),
        help=f"comma-separated stores to run (default: all of {', '.join(ALL_STORES)})",
    )
    parser.add_argument(
        "--datasets",
        default=",".join(SHAPES),
        help=f"comma-separated data sets to run (default: both of {', '.join(SHAPES)})",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs per report (median)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a small data set (20k calls)")
    size.add_argument("--smoke", action="store_true", help="a tiny data set (300 calls), tests")
    parser.add_argument("--out", type=Path, help="the Markdown to write (default: see docs)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse databases that already hold the data set (the import is not timed)",
    )
    parser.add_argument("--no-load", action="store_true", help="skip the wrk load tests")
    parser.add_argument(
        "--port", type=int, help="the port of the servers it starts (default: a free one)"
    )
    parser.add_argument(
        "--no-datasette", action="store_true", help="skip Datasette (no install, no timing)"
    )
    parser.add_argument(
        "--import-only",
        action="store_true",
        help="time the imports alone; results in bench/out/imports-SIZE.json, not the page",
    )
    parser.add_argument("--load-seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: write the table and the Markdown again from the last results",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.stores.split(",")) - set(ALL_STORES))
    if unknown:
        parser.error(f"unknown store(s): {', '.join(unknown)}")
    unknown = sorted(set(args.datasets.split(",")) - set(SHAPES))
    if unknown:
        parser.error(f"unknown data set(s): {', '.join(unknown)}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = "quick" if args.quick else "smoke" if args.smoke else "full"
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    results_file = out_dir / f"results-{size}.json"
    markdown = args.out or (ROOT / "docs" / "benchmarks.md" if size == "full" else None)
    markdown = markdown or out_dir / f"benchmarks-{size}.md"
    if args.report_only:
        document: Result = json.loads(results_file.read_text())
        print(report.text_table(document))
        report.write_markdown(document, markdown)
        say(f"wrote {markdown} from {results_file}")
        return 0
    if args.import_only:
        return import_only(args, size, out_dir)
    previous: dict[str, Result] = {}
    if results_file.exists():
        previous = report.datasets(json.loads(results_file.read_text()))
    sets = dict(previous)
    for shape in args.datasets.split(","):
        data = prepare(spec_of(size, shape), args.data_dir)
        title = SHAPES[shape][0]
        say(
            f"data set {title} ({size}): {data.rows:,} calls, {data.all_days.from_date}.."
            f"{data.all_days.to_date}; one day {data.one_day.from_date} ({data.one_day.rows:,} "
            f"rows); small report {data.small.user} ({data.small.rows} rows)"
        )
        before = previous.get(shape, {}).get("stores", {})
        stores = dict(before)
        for name in args.stores.split(","):
            store = ALL_STORES[name](data, args.data_dir)
            stores[name] = bench_store(store, data, args, out_dir, before.get(name, {}))
        sets[shape] = {
            "title": title,
            "data": describe(data),
            "stores": {k: stores[k] for k in ALL_STORES if k in stores},
        }
    document = {
        "size": size,
        "runs": args.runs,
        "load_seconds": args.load_seconds,
        "machine": machine.machine(),
        "datasets": {k: sets[k] for k in SHAPES if k in sets},
    }
    results_file.write_text(json.dumps(document, indent=1))
    print()
    print(report.text_table(document))
    report.write_markdown(document, markdown)
    say(f"wrote {markdown} and {results_file}")
    return 0


def import_only(args: argparse.Namespace, size: str, out_dir: Path) -> int:
    """``--import-only``: each data set into each store, timed; nothing else."""
    results: Result = {"machine": machine.machine(), "imports": {}}
    for shape in args.datasets.split(","):
        data = prepare(spec_of(size, shape), args.data_dir)
        for name in args.stores.split(","):
            store = ALL_STORES[name](data, args.data_dir)
            if reason := store.unavailable():
                say(f"{store.title}: skipped: {reason}")
                continue
            say(f"{store.title}, data set {SHAPES[shape][0]}: {store.url}")
            results["imports"][f"{shape}/{name}"] = timed_load(store) | {"when": _now()}
    path = out_dir / f"imports-{size}.json"
    path.write_text(json.dumps(results, indent=1))
    say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
