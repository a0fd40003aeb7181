"""The results as tables: the targets of the issue with PASS/MISS, and ``docs/benchmarks.md``.

The Markdown is generated down to a marker line; what follows the marker (the findings,
written by hand after profiling) is kept when the file is written again.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from bench.stores import MY_HOST, PG_HOST

KEEP_MARKER: Final = "<!-- Everything below this line is written by hand; bench.run keeps it. -->"
MB: Final = 1024  # kB per MB (RSS figures are in kB)
# A summary of the whole range (one GROUP BY) against its report: "well under" its time.
SUMMARY_LIMIT: Final = 0.25

Result = dict[str, Any]


@dataclass(frozen=True)
class Check:
    target: str
    store: str
    measured: float
    limit: float
    higher_is_better: bool
    unit: str  # "x", "MB", "rows/s", "req/s", "ms"

    @property
    def ok(self) -> bool:
        if self.higher_is_better:
            return self.measured >= self.limit
        return self.measured <= self.limit

    @property
    def verdict(self) -> str:
        if self.ok:
            return "PASS"
        if self.limit == 0:
            return "MISS"
        off = self.measured / self.limit - 1
        return f"MISS ({off:+.0%})"

    def fmt(self, value: float) -> str:
        if self.unit == "x":
            return f"{value:.2f}x"
        if self.unit in ("rows/s", "req/s"):
            return f"{value:,.0f} {self.unit}"
        if self.unit == "MB":
            return f"{value:.1f} MB"
        if self.unit == "ms":
            return f"{value:.1f} ms"
        return f"{value:g} {self.unit}"

    @property
    def limit_text(self) -> str:
        return ("≥ " if self.higher_is_better else "≤ ") + self.fmt(self.limit)


def _reference(rng: Result) -> tuple[str, float]:
    for label, entry in rng["exports"].items():
        if entry["reference"]:
            return label, float(entry["median_s"])
    raise ValueError("no reference export")


def _peak_mb(rng: Result) -> float:
    return float(max(max(e["peak_rss_kb"]) for e in rng["api"].values())) / MB


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def checks(document: Result) -> list[Check]:
    out: list[Check] = []
    for name, store in document["stores"].items():
        title = store["title"]

        def check(target: str, measured: float, limit: float, higher: bool, unit: str) -> None:
            out.append(Check(target, title, measured, limit, higher, unit))  # noqa: B023

        ranges = store.get("ranges") or {}
        for rng in ranges.values():
            label = rng["range"]["label"]
            ref_label, ref = _reference(rng)
            api = rng["api"]
            check(
                f"{label} JSON / {ref_label}", _ratio(api["json"]["median_s"], ref), 1.5, False, "x"
            )
            if "sqlite3 -json" in rng["exports"]:
                json_ref = rng["exports"]["sqlite3 -json"]["median_s"]
                ratio = _ratio(api["json"]["median_s"], json_ref)
                check(f"{label} JSON / sqlite3 -json", ratio, 1.2, False, "x")
            for fmt in ("xml", "csv"):
                ratio = _ratio(api[fmt]["median_s"], ref)
                check(f"{label} {fmt.upper()} / {ref_label}", ratio, 2.0, False, "x")
            if not rng["verified"]["equal"]:
                check(f"{label}: API rows = CLI rows", 0, 1, True, "ok")
        summary = ranges.get("all", {}).get("summary")
        if summary:
            label = ranges["all"]["range"]["label"]
            ratio = _ratio(summary["median_s"], ranges["all"]["api"]["json"]["median_s"])
            target = f"{label} summary by {summary['group_by']} / {label} JSON report"
            check(target, ratio, SUMMARY_LIMIT, False, "x")
        if "1d" in ranges and "all" in ranges:
            whole, day = _peak_mb(ranges["all"]), _peak_mb(ranges["1d"])
            label = ranges["all"]["range"]["label"]
            check(f"peak RSS, {label} report", whole, 100, False, "MB")
            check(f"peak RSS, {label} / 1 day", _ratio(whole, day), 1.2, False, "x")
        w2 = store.get("load_w2") or {}
        small = w2.get("small_c32")
        if small and name == "sqlite":
            check(
                "small report req/s (32 conn., 2 workers)", small["per_second"], 2000, True, "req/s"
            )
            check("small report p99 (32 conn., 2 workers)", small["p99_ms"], 50, False, "ms")
        if "day_c1" in w2 and "day_c4" in w2:
            ratio = _ratio(w2["day_c4"]["per_second"], w2["day_c1"]["per_second"])
            check("1-day reports/s, 4 conn. / 1 conn. (2 workers)", ratio, 1.0, True, "x")
        imported = store.get("import")
        if imported and imported.get("target"):
            check("import rows/s", imported["rows_per_s"], imported["target"], True, "rows/s")
    return out


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def targets_table(document: Result) -> str:
    rows = [
        [c.target, c.store, c.fmt(c.measured), c.limit_text, c.verdict] for c in checks(document)
    ]
    return _table(["target", "store", "measured", "limit", "result"], rows)


def times_table(document: Result) -> str:
    rows: list[list[str]] = []
    for store in document["stores"].values():
        for rng in (store.get("ranges") or {}).values():
            _, ref = _reference(rng)
            label, count = rng["range"]["label"], f"{rng['range']['rows']:,}"
            measured = {f"agentcdr {fmt.upper()}": entry for fmt, entry in rng["api"].items()}
            if "summary" in rng:
                measured[f"agentcdr summary by {rng['summary']['group_by']} (JSON)"] = rng[
                    "summary"
                ]
            for what, entry in measured.items():
                seconds, size = entry["median_s"], entry["bytes"]
                rows.append([
                    store["title"], label, count, what, f"{seconds:.3f}",
                    f"{_ratio(seconds, ref):.2f}x", _cpu(entry), f"{size / 1e6:,.1f}",
                    f"{size / 1e6 / seconds:,.0f}" if seconds else "",
                    f"{max(entry['peak_rss_kb']) / MB:.0f}",
                ])  # fmt: skip
            for export_label, entry in rng["exports"].items():
                seconds = entry["median_s"]
                rows.append([
                    store["title"], label, count, f"`{export_label}`", f"{seconds:.3f}",
                    f"{_ratio(seconds, ref):.2f}x", _cpu(entry), "", "", "",
                ])  # fmt: skip
    header = ["store", "range", "rows", "what", "median s", "/ CLI CSV", "CPU s", "MB", "MB/s", "peak RSS MB"]  # fmt: skip
    return _table(header, rows)


def compression_table(document: Result) -> str:
    """Each compressed report beside the same report uncompressed and the CLI export."""
    rows: list[list[str]] = []
    for store in document["stores"].values():
        for rng in (store.get("ranges") or {}).values():
            _, ref = _reference(rng)
            api = rng["api"]
            for variant, entry in api.items():
                fmt, _, coding = variant.partition("+")
                if not coding or fmt not in api:
                    continue
                plain = api[fmt]
                rows.append([
                    store["title"], rng["range"]["label"], f"{fmt.upper()} {coding}",
                    f"{plain['bytes'] / 1e6:,.1f} -> {entry['bytes'] / 1e6:,.2f}",
                    f"{_ratio(plain['bytes'], entry['bytes']):.1f}x",
                    f"{_ratio(entry['median_s'], plain['median_s']):.2f}x",
                    f"{_ratio(entry.get('cpu_median_s', 0), plain.get('cpu_median_s', 0)):.2f}x",
                    f"{_ratio(entry['median_s'], ref):.2f}x",
                ])  # fmt: skip
    header = [
        "store", "range", "report", "MB on the wire", "smaller", "time / uncompressed",
        "server CPU / uncompressed", "time / CLI CSV",
    ]  # fmt: skip
    return _table(header, rows)


def _cpu(entry: Result) -> str:
    cpu = entry.get("cpu_median_s")
    return f"{cpu:.3f}" if cpu is not None else "-"


def load_table(document: Result) -> str:
    rows: list[list[str]] = []
    for store in document["stores"].values():
        w1, w2 = store.get("load_w1") or {}, store.get("load_w2") or {}
        if not (w1 or w2):
            continue
        small = w2.get("small_c32") or {}

        def rate(entry: Result | None) -> str:
            return f"{entry['per_second']:.2f}" if entry else "-"

        rows.append([
            store["title"],
            f"{small['per_second']:,.0f}" if small else "-",
            f"{small['p50_ms']:.1f} / {small['p99_ms']:.1f}" if small else "-",
            f"{small['bad_status'] + small['socket_errors']}" if small else "-",
            f"{small.get('cpu_ms_per_request', 0):.2f}" if small else "-",
            f"{rate(w2.get('day_c1'))} / {rate(w2.get('day_c4'))}",
            f"{rate(w1.get('day_c1'))} / {rate(w1.get('day_c4'))}",
        ])  # fmt: skip
    header = [
        "store", "small req/s (c32, 2 workers)", "p50 / p99 ms", "errors", "server CPU ms/req",
        "1-day reports/s c1 / c4 (2 workers)", "c1 / c4 (1 worker)",
    ]  # fmt: skip
    return _table(header, rows)


def import_table(document: Result) -> str:
    rows: list[list[str]] = []
    for store in document["stores"].values():
        imported = store.get("import")
        if not imported:
            continue
        rows.append([
            store["title"], imported["tool"], f"{imported['rows']:,}", f"{imported['seconds']:.1f}",
            f"{imported['rows_per_s']:,.0f}",
            f"{imported['cpu_seconds']:.1f}" if imported["cpu_seconds"] else "-",
            f"{imported['target']:,}" if imported.get("target") else "-",
        ])  # fmt: skip
    header = ["store", "loaded with", "rows", "seconds", "rows/s", "importer CPU s", "target"]
    return _table(header, rows)


def memory_table(document: Result) -> str:
    rows: list[list[str]] = []
    for store in document["stores"].values():
        ranges = store.get("ranges") or {}
        if "1d" not in ranges or "all" not in ranges:
            continue
        per = [
            f"{max(ranges[k]['api'][f]['peak_rss_kb']) / MB:.0f}"
            for k in ("1d", "all")
            for f in ("json", "xml", "csv")
        ]
        rows.append([store["title"], f"{store.get('idle_rss_kb', 0) / MB:.0f}", *per])
    whole = document["data"]["all_days"]["label"]
    header = ["store", "idle MB", "1 day JSON", "XML", "CSV", f"{whole} JSON", "XML", "CSV"]
    return _table(header, rows)


def skipped(document: Result) -> list[str]:
    lines = []
    for store in document["stores"].values():
        if store.get("skipped"):
            lines.append(f"- {store['title']}: skipped: {store['skipped']}")
            continue
        lines.append(
            f"- {store['title']}: run {store['when']} on commit {store.get('commit', '-')}, "
            f"load average at its start {store.get('load_average', '-')}"
        )
        if store.get("load_skipped"):
            lines.append(f"- {store['title']}: load tests skipped: {store['load_skipped']}")
        for rng in (store.get("ranges") or {}).values():
            v = rng["verified"]
            state = "equal" if v["equal"] else f"DIFFERENT from row {v['first_difference']}"
            lines.append(
                f"- {store['title']}, {rng['range']['label']}: API CSV vs `{v['against']}`: "
                f"{v['api_rows']:,} / {v['export_rows']:,} rows, {state}"
            )
    return lines


def text_table(document: Result) -> str:
    return "\n\n".join([targets_table(document), times_table(document)])


# -- the machine ---------------------------------------------------------------------------
def _output(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    # wrk --version exits with 1 after printing its version.
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else ""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    commit = _output(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    dirty = _output(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"])
    return f"{commit}{' (+ uncommitted changes)' if dirty else ''}" if commit else "no git"


def machine() -> Result:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    root = Path(__file__).resolve().parent.parent
    commit = _output(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "os": _os_name(),
        "kernel": platform.release(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "agentcdr": f"{_version('agentcdr')} ({commit or 'no git'})",
        "packages": {
            p: _version(p) for p in ("granian", "starlette", "orjson", "asyncpg", "asyncmy")
        },
        "sqlite": f"{sqlite3.sqlite_version} (Python), CLI {_output(['sqlite3', '--version'])[:6]}",
        "postgresql": _output(["psql", *PG_HOST, "-XtAc", "SHOW server_version"]),
        "mariadb": _output(["mariadb", *MY_HOST, "-N", "-e", "SELECT VERSION()"]),
        "wrk": _output(["wrk", "--version"]).split(" [")[0],
        "curl": " ".join(_output(["curl", "--version"]).split()[:2]),
    }


# -- the Markdown --------------------------------------------------------------------------
INTRO: Final = """\
# Benchmarks

agentcdr's promise is that any report streams at close to the speed of the database's own
command-line export, in flat memory, and that small requests stay fast under concurrency.
`make bench` (`python -m bench.run`) measures exactly that, on this machine, and rewrites the
results part of this page. The targets are those of the performance issue (#4).

## What is measured

- **Data set**: {rows:,} calls over {days} days ({per_day:,} a day on average, weekdays
  busier than weekends), {agents} agents, from `agentcdr demo --csv` (seeded, so every run has
  the same calls), in UTC. Generated once into `bench/data/` and reused.
- **Import**: `agentcdr import` of that CSV into an empty store, wall clock of the whole
  command (rows/s). The VICIdial adapter is read-only, so its `vicidial_log`,
  `vicidial_list`, `vicidial_campaigns` and status tables are filled with `LOAD DATA` from
  the same calls (not timed against a target).
- **Report time**: the one-day report (the day with the median row count) and the report of
  the whole range, through a real `agentcdr serve` process (granian, 1 worker), in JSON, XML
  and CSV, time to the last byte (curl, body to `/dev/null`, wall clock). In the same run,
  interleaved with it, the database's own CLI exports the same rows (same columns rendered
  the same way, same range, same order) as CSV/TSV: `sqlite3 -csv` (and `sqlite3 -json`),
  `psql -c "COPY (...) TO STDOUT (FORMAT csv)"`, `mariadb --batch --quick`. Every figure is
  a median of `--runs` runs; **the ratio to the export is the figure**, as absolute times move
  with the load of this shared machine. Before timing, one untimed pass checks that the API's
  CSV and the CLI export hold the same rows in the same order (listed below).
- **Summary time**: in the same runs, the summary of each range grouped by agent
  (`goAction=agent_cdr_summary`, `groupBy=user`, JSON), against the JSON report of the same
  range.
- **Memory**: the server worker's peak RSS (`VmHWM`, reset through `/proc/PID/clear_refs`
  before each request) during each report.
- **Load**: wrk (another process on the same 2 cores) against `serve --workers 2`, 10 s per
  run: the small report (one agent, one day) at 32 connections, requests/s and p50/p99
  latency; the one-day JSON report at 1 and at 4 connections, reports/s (also against the
  1-worker server).
- **Compression**: the one-day and the whole-range report again in JSON and CSV with
  `Accept-Encoding: gzip` and in JSON with `zstd`, kept compressed by curl: bytes on the
  wire, and time and server CPU over the same report uncompressed and over the CLI export.

## How to rerun

```
make bench                                   # everything: about 20 minutes, once the data exists
.venv/bin/python -m bench.run --stores sqlite  # one store (others keep their last results)
.venv/bin/python -m bench.run --quick          # 20k calls, a smoke run; writes bench/out/
.venv/bin/python -m bench.run --runs 5 --reuse # more runs; reuse loaded databases (no import)
.venv/bin/python -m bench.run --report-only    # rewrite this page from bench/out/results-full.json
.venv/bin/python -m bench.middleware           # the HTTP middleware's CPU on a small request
```

Options: `--stores sqlite,postgresql,mariadb,vicidial`, `--runs N` (default 3), `--quick`,
`--out FILE` (default this page for the full data set, `bench/out/benchmarks-quick.md`
otherwise), `--reuse`, `--no-load`, `--load-seconds S`, `--port N` (of the servers it starts;
a free one by default), `--report-only`. PostgreSQL is expected at
127.0.0.1:5432 (user `postgres`, trust) and MariaDB at 127.0.0.1:3306 (user `root`, no
password); each gets a database `agentcdr_bench` (`agentcdr_bench_vicidial` for the
adapter), dropped and created again by each run. A store that is not reachable is skipped
with the reason. wrk comes from the system packages (`apt-get install -y wrk`; `make bench`
installs it when run as root); without it the load tests are skipped.

The report page in Chromium (`python -m bench.page`, not part of `make bench`; needs
/usr/bin/chromium) is measured on its own: see [The report page](#the-report-page) below.
"""


def markdown(document: Result) -> str:
    spec = document["data"]["spec"]
    m = document["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    intro = INTRO.format(
        rows=document["data"]["rows"],
        days=spec["days"],
        per_day=spec["calls_per_day"],
        agents=spec["agents"],
    )
    day, whole, small = (document["data"][k] for k in ("one_day", "all_days", "small"))
    when = sorted({s.get("when", "") for s in document["stores"].values()})
    parts = [
        intro,
        "## Latest results",
        "",
        f"Run {when[0]}{f' to {when[-1]}' if len(when) > 1 else ''}; medians of {document['runs']} runs; wrk "
        f"{document['load_seconds']} s per run. One day: {day['from_date']} "
        f"({day['rows']:,} rows); all days: {whole['from_date']}..{whole['to_date']} "
        f"({whole['rows']:,} rows); small report: agent {small['user']} on {small['from_date']} "
        f"({small['rows']} rows).",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, {m['os']}, "
        f"kernel {m['kernel']}; load average when the run ended {m['load_average']} (the "
        f"machine is shared with other work; see the load at each store's start below). Python {m['python']}, agentcdr {m['agentcdr']}, {packages}; SQLite "
        f"{m['sqlite']}; PostgreSQL {m['postgresql'] or '-'}; MariaDB {m['mariadb'] or '-'}; "
        f"{m['wrk'] or 'no wrk'}; {m['curl']}.",
        "",
        "### Targets",
        "",
        targets_table(document),
        "",
        "### Report times",
        "",
        "Medians; `/ CLI CSV` is the time over the store's CLI CSV/TSV export of the same rows; "
        "CPU s is the CPU time of the agentcdr server's processes, or of the CLI process (the "
        "database server's own CPU is in neither); MB is the size of the response body.",
        "",
        times_table(document),
        "",
        "### Compression",
        "",
        "The same reports asked for with `Accept-Encoding: gzip` (level 1) or `zstd` (level "
        "1), kept compressed by curl: the bytes on the wire, and the time and the server's CPU "
        "over the uncompressed report of the same run.",
        "",
        compression_table(document),
        "",
        "### Peak memory of the server worker (MB)",
        "",
        memory_table(document),
        "",
        "### Under load",
        "",
        load_table(document),
        "",
        "### Import",
        "",
        import_table(document),
        "",
        "### Checks and skips",
        "",
        *skipped(document),
        "",
    ]
    return "\n".join(parts)


DEFAULT_FINDINGS: Final = """
## Findings

(Written by hand after profiling: where a target is missed, by how much, why, and what would
close it.)
"""


def write_markdown(document: Result, path: Path) -> None:
    kept = DEFAULT_FINDINGS
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if KEEP_MARKER in text:
            kept = text.split(KEEP_MARKER, 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = markdown(document) + "\n" + KEEP_MARKER + "\n\n" + kept.lstrip("\n")
    path.write_text(text, encoding="utf-8")
