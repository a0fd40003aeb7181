"""The results as tables: issue 13's targets with PASS/MISS for both data sets side by side,
and ``docs/benchmarks.md``.

The Markdown is generated down to a marker line; what follows the marker (the findings,
written by hand after profiling) is kept when the file is written again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

KEEP_MARKER: Final = "<!-- Everything below this line is written by hand; bench.run keeps it. -->"
MB: Final = 1024  # kB per MB (RSS figures are in kB)
# A summary of the whole range (one GROUP BY) against its report: "well under" its time.
SUMMARY_LIMIT: Final = 0.25
FORMATS: Final = ("json", "xml", "csv")
DATASETTE: Final = "Datasette CSV"
# Issue 13's targets.
REPORT_LIMIT: Final = 1.0  # x the CLI's CSV/TSV export, and x Datasette's CSV
GZIP_LIMIT: Final = 1.3  # x the CLI's export, with Accept-Encoding: gzip
RSS_LIMIT_MB: Final = 100
SMALL_PER_SECOND: Final = 3000
SMALL_P99_MS: Final = 25

Result = dict[str, Any]


@dataclass(frozen=True)
class Check:
    target: str
    store: str
    measured: float
    limit: float
    higher_is_better: bool
    unit: str  # "x", "MB", "rows/s", "req/s", "ms"
    dataset: str = ""
    note: str = ""  # instead of a verdict (e.g. "not compressed")

    @property
    def ok(self) -> bool:
        if self.note:
            return False
        if self.higher_is_better:
            return self.measured >= self.limit
        return self.measured <= self.limit

    @property
    def verdict(self) -> str:
        if self.note:
            return self.note
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


def datasets(document: Result) -> dict[str, Result]:
    """The document's data sets (``{"title", "data", "stores"}`` each); a results file from
    before there were two holds the demo set alone."""
    if "datasets" in document:
        found: dict[str, Result] = document["datasets"]
        return found
    return {"demo": {"title": "A: demo", "data": document["data"], "stores": document["stores"]}}


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
    for dataset in datasets(document).values():
        for name, store in dataset["stores"].items():
            out += _store_checks(name, store, dataset["title"])
    return out


def _store_checks(name: str, store: Result, dataset: str) -> list[Check]:
    out: list[Check] = []

    def check(target: str, measured: float, limit: float, higher: bool, unit: str) -> None:
        out.append(Check(target, store["title"], measured, limit, higher, unit, dataset))

    ranges = store.get("ranges") or {}
    for rng in ranges.values():
        label = rng["range"]["label"]
        _, ref = _reference(rng)
        api = rng["api"]
        for fmt in FORMATS:
            ratio = _ratio(api[fmt]["median_s"], ref)
            check(f"{label} {fmt.upper()} / CLI export", ratio, REPORT_LIMIT, False, "x")
        datasette = rng["exports"].get(DATASETTE)
        if datasette:
            for fmt in FORMATS:
                ratio = _ratio(api[fmt]["median_s"], datasette["median_s"])
                check(f"{label} {fmt.upper()} / {DATASETTE}", ratio, REPORT_LIMIT, False, "x")
        for fmt in FORMATS:
            entry = api.get(f"{fmt}+gzip")
            if entry is None:
                continue
            target = f"{label} {fmt.upper()} gzip / CLI export"
            if entry.get("encoding") != "gzip":
                out.append(
                    Check(target, store["title"], 0, GZIP_LIMIT, False, "x", dataset,
                          "not compressed")
                )  # fmt: skip
            else:
                check(target, _ratio(entry["median_s"], ref), GZIP_LIMIT, False, "x")
        if not rng["verified"]["equal"]:
            check(f"{label}: API rows = CLI rows", 0, 1, True, "ok")
    if "all" in ranges:
        label = ranges["all"]["range"]["label"]
        check(f"peak RSS, {label} report", _peak_mb(ranges["all"]), RSS_LIMIT_MB, False, "MB")
        summary = ranges["all"].get("summary")
        if summary:
            ratio = _ratio(summary["median_s"], ranges["all"]["api"]["json"]["median_s"])
            target = f"{label} summary by {summary['group_by']} / {label} JSON report"
            check(target, ratio, SUMMARY_LIMIT, False, "x")
    small = (store.get("load_w2") or {}).get("small_c32")
    if small and name == "sqlite":
        check("small report req/s (32 conn., 2 workers)", small["per_second"],
              SMALL_PER_SECOND, True, "req/s")  # fmt: skip
        check("small report p99 (32 conn., 2 workers)", small["p99_ms"], SMALL_P99_MS, False, "ms")
    imported = store.get("import")
    if imported and imported.get("target"):
        check("import rows/s", imported["rows_per_s"], imported["target"], True, "rows/s")
    return out


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _titles(document: Result) -> list[str]:
    return [d["title"] for d in datasets(document).values()]


def targets_table(document: Result) -> str:
    """One row per target and store, each data set's figure and verdict side by side."""
    titles = _titles(document)
    by_key: dict[tuple[str, str], dict[str, Check]] = {}
    for c in checks(document):
        by_key.setdefault((c.target, c.store), {})[c.dataset] = c
    rows = []
    for (target, store), per in by_key.items():
        first = next(iter(per.values()))
        cells = [target, store, first.limit_text]
        for title in titles:
            found = per.get(title)
            if found is None:
                cells += ["-", "-"]
            else:
                cells += ["-" if found.note else found.fmt(found.measured), found.verdict]
        rows.append(cells)
    header = ["target", "store", "limit"]
    for title in titles:
        header += [title, "result"]
    return _table(header, rows)


def compression_table(document: Result) -> str:
    """Each compressed report beside the same report uncompressed and the CLI export."""
    rows: list[list[str]] = []
    stores = [(d["title"], st) for d in datasets(document).values() for st in d["stores"].values()]
    for title, store in stores:
        for rng in (store.get("ranges") or {}).values():
            _, ref = _reference(rng)
            api = rng["api"]
            for variant, entry in api.items():
                fmt, _, coding = variant.partition("+")
                if not coding or fmt not in api:
                    continue
                plain = api[fmt]
                rows.append([
                    store["title"], title, rng["range"]["label"], f"{fmt.upper()} {coding}",
                    f"{plain['bytes'] / 1e6:,.1f} -> {entry['bytes'] / 1e6:,.2f}",
                    f"{_ratio(plain['bytes'], entry['bytes']):.1f}x",
                    f"{_ratio(entry['median_s'], plain['median_s']):.2f}x",
                    f"{_ratio(entry.get('cpu_median_s', 0), plain.get('cpu_median_s', 0)):.2f}x",
                    f"{_ratio(entry['median_s'], ref):.2f}x",
                ])  # fmt: skip
    header = [
        "store", "data", "range", "report", "MB on the wire", "smaller", "time / uncompressed",
        "server CPU / uncompressed", "time / CLI CSV",
    ]  # fmt: skip
    return _table(header, rows)


def _cpu(entry: Result) -> str:
    cpu = entry.get("cpu_median_s")
    return f"{cpu:.3f}" if cpu is not None else "-"


def times_table(document: Result) -> str:
    """Median time, ratio to the CLI export, CPU and size of each report and export, both
    data sets side by side."""
    titles = _titles(document)
    cells: dict[tuple[str, str, str], dict[str, list[str]]] = {}
    for dataset in datasets(document).values():
        for store in dataset["stores"].values():
            for rng in (store.get("ranges") or {}).values():
                _, ref = _reference(rng)
                label = rng["range"]["label"]
                entries = [
                    (f"agentcdr {f.replace('+', ' ').upper()}", e) for f, e in rng["api"].items()
                ]
                if "summary" in rng:
                    by = rng["summary"]["group_by"]
                    entries.append((f"agentcdr summary by {by} (JSON)", rng["summary"]))
                entries += [(f"`{k}`", e) for k, e in rng["exports"].items()]
                for what, entry in entries:
                    seconds, size = entry["median_s"], entry.get("bytes", 0)
                    cells.setdefault((store["title"], label, what), {})[dataset["title"]] = [
                        f"{seconds:.3f}", f"{_ratio(seconds, ref):.2f}x", _cpu(entry),
                        f"{size / 1e6:,.1f}" if size else "",
                    ]  # fmt: skip
    rows = [
        [*key, *(c for t in titles for c in per.get(t, ["", "", "", ""]))]
        for key, per in cells.items()
    ]
    header = ["store", "range", "what"]
    for title in titles:
        header += [f"{title} s", "/ CLI CSV", "CPU s", "MB"]
    return _table(header, rows)


def load_table(document: Result) -> str:
    rows: list[list[str]] = []
    for dataset in datasets(document).values():
        for store in dataset["stores"].values():
            w1, w2 = store.get("load_w1") or {}, store.get("load_w2") or {}
            if not (w1 or w2):
                continue
            small = w2.get("small_c32") or {}

            def rate(entry: Result | None) -> str:
                return f"{entry['per_second']:.2f}" if entry else "-"

            rows.append([
                store["title"], dataset["title"],
                f"{small['per_second']:,.0f}" if small else "-",
                f"{small['p50_ms']:.1f} / {small['p99_ms']:.1f}" if small else "-",
                f"{small['bad_status'] + small['socket_errors']}" if small else "-",
                f"{small.get('cpu_ms_per_request', 0):.2f}" if small else "-",
                f"{rate(w2.get('day_c1'))} / {rate(w2.get('day_c4'))}",
                f"{rate(w1.get('day_c1'))} / {rate(w1.get('day_c4'))}",
            ])  # fmt: skip
    header = [
        "store", "data", "small req/s (c32, 2 workers)", "p50 / p99 ms", "errors",
        "server CPU ms/req", "1-day reports/s c1 / c4 (2 workers)", "c1 / c4 (1 worker)",
    ]  # fmt: skip
    return _table(header, rows)


def import_table(document: Result) -> str:
    rows: list[list[str]] = []
    for dataset in datasets(document).values():
        for store in dataset["stores"].values():
            imported = store.get("import")
            if not imported:
                continue
            cli = imported.get("cli")
            rows.append([
                store["title"], dataset["title"], imported["tool"], f"{imported['rows']:,}",
                f"{imported['seconds']:.1f}", f"{imported['rows_per_s']:,.0f}",
                f"{imported['cpu_seconds']:.1f}" if imported["cpu_seconds"] else "-",
                imported.get("load_average", "-"),
                f"{imported['target']:,}" if imported.get("target") else "-",
                f"{cli['tool']}: {cli['seconds']:.1f} s" if cli else "-",
                f"{imported['vs_cli']:.2f}x" if cli else "-",
            ])  # fmt: skip
    header = [
        "store", "data", "loaded with", "rows", "seconds", "rows/s", "importer CPU s",
        "load average before", "target", "CLI bulk load", "/ CLI",
    ]  # fmt: skip
    return _table(header, rows)


def memory_table(document: Result) -> str:
    rows: list[list[str]] = []
    for dataset in datasets(document).values():
        for store in dataset["stores"].values():
            ranges = store.get("ranges") or {}
            if "1d" not in ranges or "all" not in ranges:
                continue
            per = [
                f"{max(ranges[k]['api'][f]['peak_rss_kb']) / MB:.0f}"
                for k in ("1d", "all")
                for f in FORMATS
            ]
            idle = f"{store.get('idle_rss_kb', 0) / MB:.0f}"
            login = store.get("login_peak_rss_kb")
            signed = f"{login / MB:.0f}" if login else "-"
            rows.append([store["title"], dataset["title"], idle, signed, *per])
    header = [
        "store", "data", "idle MB", "sign-in MB", "1 day JSON", "XML", "CSV",
        "all days JSON", "XML", "CSV",
    ]  # fmt: skip
    return _table(header, rows)


def skipped(document: Result) -> list[str]:
    lines = []
    for dataset in datasets(document).values():
        for store in dataset["stores"].values():
            name = f"{store['title']} ({dataset['title']})"
            if store.get("skipped"):
                lines.append(f"- {name}: skipped: {store['skipped']}")
                continue
            lines.append(
                f"- {name}: run {store['when']} on commit {store.get('commit', '-')}, "
                f"load average at its start {store.get('load_average', '-')}"
            )
            for key in ("load_skipped", "datasette_skipped"):
                if store.get(key):
                    lines.append(f"- {name}: {key.split('_')[0]} skipped: {store[key]}")
            for rng in (store.get("ranges") or {}).values():
                v = rng["verified"]
                state = "equal" if v["equal"] else f"DIFFERENT from row {v['first_difference']}"
                lines.append(
                    f"- {name}, {rng['range']['label']}: API CSV vs `{v['against']}`: "
                    f"{v['api_rows']:,} / {v['export_rows']:,} rows, {state}"
                )
                if "datasette_rows" in rng:
                    lines.append(
                        f"- {name}, {rng['range']['label']}: {DATASETTE} rows: "
                        f"{rng['datasette_rows']:,}"
                    )
    return lines


def text_table(document: Result) -> str:
    return "\n\n".join([targets_table(document), times_table(document)])


# -- the Markdown --------------------------------------------------------------------------
INTRO: Final = """\
# Benchmarks

agentcdr's promise is that any report streams at the speed of the database's own
command-line export or faster, in flat memory, that small requests stay fast under
concurrency, and that imports load millions of calls quickly. `make bench`
(`python -m bench.run`) measures exactly that, on this machine, and rewrites the results part
of this page. The targets are those of the second performance issue (#13).

## What is measured

- **Data sets**: every figure is measured on two data sets of the same seeded calls (2M over
  30 days, weekdays busier than weekends, in UTC), generated once into `bench/data/` and
  reused. **A: demo** is `agentcdr demo --csv` (500 agents, short ASCII dispositions such
  as `VM / NML`). **B: wide** is the same calls reshaped by `bench/shapes.py`: 5,000 agents
  with non-ASCII letters in their names, dispositions of 60-95 characters with `/`,
  accented letters and now and then a comma or a double quote (which CSV quotes),
  campaign names of 30-40 characters, and calls three times as long. Longer and non-ASCII
  text costs more to escape and send, and ten times the agents make a one-agent report a
  tenth the size.
- **Import**: `agentcdr import` of a data set's CSV into an empty store, wall clock of the
  whole command (rows/s), with the load average of the machine just before; then, as its
  reference, the database CLI's own bulk load of the same file (`sqlite3 .import`, `psql
  \\copy`, `LOAD DATA LOCAL INFILE`) into a new table of the CSV's columns as text, with
  the indexes of the store's that those columns can have (five of its seven: the unique
  call id, and the answer time alone and after the tenant, the agent and the profile)
  built after the rows, with the memory and sorter threads agentcdr's import gives its
  own (`bench/stores.py`, `CLI_INDEXES`); `/ CLI` is the time over it. The CLI neither
  validates nor converts anything. The VICIdial
  adapter is read-only, so its `vicidial_log`, `vicidial_list`, `vicidial_campaigns` and
  status tables are filled with `LOAD DATA` from the same calls (not timed against a target).
- **Report time**: the one-day report (the day with the median row count) and the report of
  the whole range, through a real `agentcdr serve` process (granian, 1 worker), in JSON, XML
  and CSV, time to the last byte (curl, body to `/dev/null`, wall clock). In the same run,
  interleaved with it, the database's own CLI exports the same rows (same columns rendered
  the same way, same range, same order) as CSV/TSV: `sqlite3 -csv` (and `sqlite3 -json`),
  `psql -c "COPY (...) TO STDOUT (FORMAT csv)"`, `mariadb --batch --quick`. On SQLite,
  Datasette serves the same file (installed by the benchmark into `bench/.datasette/`, a
  virtual environment of its own, version {datasette}: not a dependency of agentcdr) and
  its streamed CSV of the same rows is timed too: the table view with the range as filters,
  `?_stream=on&_size=max`, sorted newest first (its CSV holds the stored values, epoch
  seconds and seconds, where agentcdr renders times and durations; `max_csv_mb` is set to 0
  so that it sends every row). Every figure is a median of `--runs` runs, but Datasette's,
  timed once (its 30-day CSV takes minutes); **the ratio to the export is the figure**, as
  absolute times move with the load of this shared machine. Before timing, one pass checks
  that the API's CSV and the CLI export hold the same rows in the same order, and counts
  Datasette's rows (listed below): that pass is Datasette's timed run.
- **Summary time**: in the same runs, the summary of each range grouped by agent
  (`goAction=agent_cdr_summary`, `groupBy=user`, JSON), against the JSON report of the same
  range.
- **Memory**: the server worker's peak RSS (`VmHWM`, reset through `/proc/PID/clear_refs`
  before each request) during each report. Each measured request follows an unmeasured
  sign-in (an empty report), so the password's argon2id check (64 MiB, once per credential
  and worker until the credential cache forgets it: a minute by default, a day on the
  bench's servers) is not counted in whichever report comes next; its own peak, with the
  cache cold, is the memory table's "sign-in" column.
- **Load**: wrk (another process on the same 2 cores) against `serve --workers 2`, 10 s per
  run: the small report (one agent, one day) at 32 connections, requests/s and p50/p99
  latency; the one-day JSON report at 1 and at 4 connections, reports/s (also against the
  1-worker server).
- **Compression**: the one-day and the whole-range report again in JSON, XML and CSV with
  `Accept-Encoding: gzip` and in JSON with `zstd`, kept compressed by curl (not decoded:
  the client's work is not the server's): bytes on the wire, and time and server CPU over
  the same report uncompressed and over the CLI export; a server that answered
  uncompressed is reported as "not compressed".

## How to rerun

```
make bench                                     # everything, both data sets: about two hours
.venv/bin/python -m bench.run --stores sqlite  # one store (others keep their last results)
.venv/bin/python -m bench.run --datasets wide  # one data set (the other keeps its results)
.venv/bin/python -m bench.run --quick          # 20k calls, a smoke run; writes bench/out/
.venv/bin/python -m bench.run --runs 5 --reuse # more runs; reuse loaded databases (no import)
.venv/bin/python -m bench.run --import-only    # time the imports alone (bench/out/, not here)
.venv/bin/python -m bench.run --report-only    # rewrite this page from bench/out/results-full.json
.venv/bin/python -m bench.middleware           # the HTTP middleware's CPU on a small request
.venv/bin/python -m bench.sqlite_threads       # SQLite slices in 1 and 2 threads, statistics on/off
.venv/bin/python -m bench.import_phases        # a first load into SQLite, phase by phase
.venv/bin/python -m bench.profile small        # py-spy on one worker (or report; --dataset wide)
```

Options: `--stores sqlite,postgresql,mariadb,vicidial`, `--datasets demo,wide`, `--runs N`
(default 3), `--quick`, `--out FILE` (default this page for the full data sets,
`bench/out/benchmarks-quick.md` otherwise), `--reuse`, `--no-load`, `--load-seconds S`,
`--no-datasette`, `--import-only`, `--port N` (of the servers it starts; a free one by
default), `--report-only`. PostgreSQL is expected at
127.0.0.1:5432 (user `postgres`, trust) and MariaDB at 127.0.0.1:3306 (user `root`, no
password); each gets a database `agentcdr_bench` (`agentcdr_bench_wide` for data set B,
`agentcdr_bench_vicidial` for the adapter), dropped and created again by each run. A store
that is not reachable is skipped with the reason. wrk comes from the system packages
(`apt-get install -y wrk`; `make bench` installs it when run as root); without it the load
tests are skipped. Datasette is installed with pip from PyPI on the first run; without
network access that part is skipped with the reason.

The report page in Chromium (`python -m bench.page`, not part of `make bench`; needs
/usr/bin/chromium) is measured on its own: see [The report page](#the-report-page) below.
"""


def _describe(dataset: Result) -> str:
    data = dataset["data"]
    spec = data["spec"]
    day, whole, small = (data[k] for k in ("one_day", "all_days", "small"))
    return (
        f"{dataset['title']}: {data['rows']:,} calls, {spec['agents']:,} agents; one day "
        f"{day['from_date']} ({day['rows']:,} rows); all days {whole['from_date']}.."
        f"{whole['to_date']} ({whole['rows']:,} rows); small report: agent {small['user']} on "
        f"{small['from_date']} ({small['rows']} rows)."
    )


def markdown(document: Result) -> str:
    m = document["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    intro = INTRO.format(datasette=m.get("datasette") or "-")
    sets = datasets(document)
    when = sorted({s.get("when", "") for d in sets.values() for s in d["stores"].values()})
    parts = [
        intro,
        "## Latest results",
        "",
        f"Run {when[0]}{f' to {when[-1]}' if len(when) > 1 else ''}; medians of "
        f"{document['runs']} runs; wrk {document['load_seconds']} s per run.",
        "",
        *(f"- {_describe(d)}" for d in sets.values()),
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, {m['os']}, "
        f"kernel {m['kernel']}; load average when the run ended {m['load_average']} (the "
        "machine is shared with other work; see the load at each store's start below). "
        f"Python {m['python']}, agentcdr {m['agentcdr']}, {packages}; SQLite "
        f"{m['sqlite']}; PostgreSQL {m['postgresql'] or '-'}; MariaDB {m['mariadb'] or '-'}; "
        f"Datasette {m.get('datasette') or '-'}; {m['wrk'] or 'no wrk'}; {m['curl']}.",
        "",
        "### Targets",
        "",
        targets_table(document),
        "",
        "### Report times",
        "",
        "Medians; `/ CLI CSV` is the time over the store's CLI CSV/TSV export of the same rows; "
        "CPU s is the CPU time of the agentcdr server's processes, or of the client process "
        "(the CLI, or curl for Datasette; the database server's own CPU is in neither); MB is "
        "the size of the response body (with gzip: the bytes on the wire).",
        "",
        times_table(document),
        "",
        "### Compression",
        "",
        "The same reports asked for with `Accept-Encoding: gzip` or `zstd` (at the levels of "
        "the commit each store's run names), kept compressed by curl: the bytes on the wire, "
        "and the time and the server's CPU over the uncompressed report of the same run.",
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
