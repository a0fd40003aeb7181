"""The benchmark's pipeline on a few hundred calls of both data sets, SQLite only: it must
keep working.

No timing is asserted (the suite runs on shared machines); only that every result is there,
that the API and the sqlite3 CLI export return the same rows in the same order, and that
Datasette (installed into bench/.datasette/ on the first run) streams the same number.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bench import report
from bench.run import main

pytestmark = pytest.mark.socket


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 CLI is not installed")
def test_bench_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    argv = ["--smoke", "--stores", "sqlite", "--runs", "1", "--no-load"]
    argv += ["--data-dir", str(tmp_path / "data"), "--out-dir", str(out_dir)]
    assert main(argv) == 0

    document = json.loads((out_dir / "results-smoke.json").read_text())
    assert set(document["datasets"]) == {"demo", "wide"}
    for dataset in document["datasets"].values():
        sqlite = dataset["stores"]["sqlite"]
        assert sqlite["import"]["rows"] == dataset["data"]["rows"] == 300
        # Its reference: the CLI's bulk load of the same file, every row counted.
        assert sqlite["import"]["cli"]["tool"] == "sqlite3 .import"
        assert sqlite["import"]["cli"]["rows"] == 300
        assert sqlite["import"]["vs_cli"] > 0
        # The sign-in's peak (argon2id's 64 MiB) is measured apart from the reports'.
        assert sqlite["login_peak_rss_kb"] > sqlite["idle_rss_kb"] + 32 * 1024
        for key in ("1d", "all"):
            measured = sqlite["ranges"][key]
            rows = measured["range"]["rows"]
            assert rows > 0
            # The API's CSV and `sqlite3 -csv` hold the same rows, in the same order.
            assert measured["verified"] == {
                "api_rows": rows,
                "export_rows": rows,
                "first_difference": None,
                "api_row": None,
                "export_row": None,
                "equal": True,
                "against": "sqlite3 -csv",
            }
            assert measured["datasette_rows"] == rows
            api = measured["api"]
            for fmt in ("json", "xml", "csv", "json+gzip", "xml+gzip", "csv+gzip", "json+zstd"):
                assert api[fmt]["median_s"] > 0
                assert api[fmt]["bytes"] > 0
                assert max(api[fmt]["peak_rss_kb"]) > 0
            # Compressed on the wire: several times smaller, and said so.
            assert api["json+gzip"]["encoding"] == "gzip"
            assert api["json+zstd"]["encoding"] == "zstd"
            assert api["json+gzip"]["bytes"] * 3 < api["json"]["bytes"]
            assert api["json+zstd"]["bytes"] * 3 < api["json"]["bytes"]
            assert api["csv+gzip"]["bytes"] * 2 < api["csv"]["bytes"]
            assert measured["summary"]["group_by"] == "user"
            assert measured["summary"]["median_s"] > 0
            assert measured["summary"]["bytes"] > 0
            assert set(measured["exports"]) == {"sqlite3 -csv", "sqlite3 -json", "Datasette CSV"}
    # The wide set's long dispositions, with commas and quotes, came through as written.
    wide = next((tmp_path / "data").glob("calls-wide-*.csv")).read_text(encoding="utf-8")
    assert '"PTP / Promesa de pago ""30 días"" — promesse de paiement, Zahlungszusage"' in wide

    targets = {(c.target, c.dataset) for c in report.checks(document)}
    per_set = {
        f"{label} {fmt} / {against}"
        for label in ("1 day", "3 days")
        for fmt in ("JSON", "XML", "CSV")
        for against in ("CLI export", "Datasette CSV")
    }
    per_set |= {
        f"{label} {fmt} gzip / CLI export"
        for label in ("1 day", "3 days")
        for fmt in ("JSON", "XML", "CSV")
    }
    per_set |= {
        "peak RSS, 3 days report",
        "3 days summary by user / 3 days JSON report",
        "import rows/s",
    }
    assert targets == {(t, d) for t in per_set for d in ("A: demo", "B: wide")}
    printed = capsys.readouterr().out
    for target in per_set:
        assert f"| {target} | SQLite |" in printed
    markdown = (out_dir / "benchmarks-smoke.md").read_text()
    assert "### Targets" in markdown
    assert "| store | data | idle MB | sign-in MB |" in markdown
    assert "| SQLite | A: demo | 1 day | JSON gzip |" in markdown
    assert report.KEEP_MARKER in markdown
    assert "- SQLite (A: demo), 1 day: API CSV vs `sqlite3 -csv`: 119 / 119 rows, equal" in markdown
    assert "- SQLite (B: wide), 1 day: Datasette CSV rows: 119" in markdown
    assert "| SQLite | 3 days | agentcdr summary by user (JSON) |" in markdown
    assert re.search(r"\| sqlite3 \.import: \d+\.\d s \| \d+\.\d\dx \|$", markdown, re.M)


def test_middleware_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import middleware

    assert middleware.main(["--rounds", "1", "--requests", "3"]) == 0
    printed = capsys.readouterr().out
    for variant in ("bare", "all", "all, gzip asked"):
        assert re.search(rf"^  {re.escape(variant)} +\d+\.\d{{3}} ms CPU/request  \d\.\d\dx$", printed, re.M)  # fmt: skip


def test_sqlite_threads_bench_smoke(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import sqlite_threads
    from tests.seed import seed

    seed(sqlite_url)
    db = sqlite_url.removeprefix("sqlite:///")
    assert sqlite_threads.main(["--db", db, "--runs", "1", "--days", "2"]) == 0
    printed = capsys.readouterr().out
    for stats in ("on ", "off"):
        for threads in (1, 2):
            line = rf"^memory statistics {stats}, {threads} thread\(s\): \d+\.\d\d s wall, \d+\.\d\d s CPU$"
            assert re.search(line, printed, re.M), printed


def test_clients_check_what_issue_11_fixed() -> None:
    # bench.clients against this checkout's server: every behaviour as the closing note of
    # the HTTP issue shows it (its "before" column is the same script on an older checkout).
    import sys

    from bench import clients
    from bench.server import free_port

    answers = dict(clients.run(sys.executable, free_port()))
    assert answers.keys() == {name for name, _ in clients.CHECKS}
    expected = {
        "1 week JSON, Accept-Encoding: gzip": "200, Content-Encoding gzip, Vary Accept-Encoding",
        "1 week JSON, Accept-Encoding: zstd": "200, Content-Encoding zstd, Vary Accept-Encoding",
        "CORS preflight": "204, Allow-Origin *",
        "cross-origin POST": "200, Expose-Headers X-Request-ID",
        "HEAD of a report URL": "200, Content-Type application/json; charset=utf-8",
        "NDJSON Content-Type": "200, application/x-ndjson; charset=utf-8",
        "XML: a CR": "written as &#13;",
        "JSON: U+2028": "written as \\u2028",
        "NDJSON: U+2028": "written as \\u2028",
        "CSV csvFormulas=neutralize": "neutralized",
        "GET /openapi.json": "200, OpenAPI 3.1.0",
        "GET /docs": "200 text/html, content-security-policy default-src 'self'",
        "GET /metrics": "200 text/plain",
        "GET /readyz": "200 application/json",
        "GET /: X-Content-Type-Options": "200 text/html, x-content-type-options nosniff",
    }
    for start, answer in expected.items():
        name = name_of(answers, start)
        assert answers[name].startswith(answer), (name, answers[name])
    gzip = answers[name_of(answers, "1 week JSON, Accept-Encoding: gzip")]
    sizes = re.search(r"([\d,]+) bytes on the wire for ([\d,]+)$", gzip)
    assert sizes is not None, gzip
    wire, plain = (int(size.replace(",", "")) for size in sizes.groups())
    assert wire * 3 < plain


def name_of(answers: dict[str, str], start: str) -> str:
    (name,) = [name for name in answers if name.startswith(start)]
    return name


def test_import_phases_bench_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import import_phases

    rows = [
        "user,answer_time,disposition,phone_number,loan_number,call_type,call_duration,"
        "lead_id,term_reason,portfolio,campaign_name,call_id,profile",
        *(
            f"Ann,2025-05-13 12:00:0{n},VM,555,L{n},MANUAL,00:00:3{n},{n},AGENT,GAL,GALSERVERS,c{n},"
            for n in range(3)
        ),
    ]
    path = tmp_path / "calls.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert import_phases.main(["--csv", str(path)]) == 0
    printed = capsys.readouterr().out
    for phase in ("reader: csv module, validation, rows, pickle", "writer: inserts",
                  "writer: unique key", "writer: calls_import", "writer: commit"):  # fmt: skip
        assert re.search(rf"^{re.escape(phase)}: \d+\.\d\d s", printed, re.M), printed
