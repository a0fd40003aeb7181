"""The benchmark's pipeline on a few hundred calls, SQLite only: it must keep working.

No timing is asserted (the suite runs on shared machines); only that every result is there
and that the API and the sqlite3 CLI export return the same rows in the same order.
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
    sqlite = document["stores"]["sqlite"]
    assert sqlite["import"]["rows"] == document["data"]["rows"] == 300
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
        for fmt in ("json", "xml", "csv", "json+gzip", "csv+gzip", "json+zstd"):
            assert measured["api"][fmt]["median_s"] > 0
            assert measured["api"][fmt]["bytes"] > 0
            assert max(measured["api"][fmt]["peak_rss_kb"]) > 0
        # Compressed on the wire: several times smaller.
        api = measured["api"]
        assert api["json+gzip"]["bytes"] * 3 < api["json"]["bytes"]
        assert api["json+zstd"]["bytes"] * 3 < api["json"]["bytes"]
        assert api["csv+gzip"]["bytes"] * 2 < api["csv"]["bytes"]
        assert set(measured["exports"]) == {"sqlite3 -csv", "sqlite3 -json"}
        assert measured["summary"]["group_by"] == "user"
        assert measured["summary"]["median_s"] > 0
        assert measured["summary"]["bytes"] > 0

    targets = {c.target for c in report.checks(document)}
    assert targets == {
        "1 day JSON / sqlite3 -csv",
        "1 day JSON / sqlite3 -json",
        "1 day XML / sqlite3 -csv",
        "1 day CSV / sqlite3 -csv",
        "3 days JSON / sqlite3 -csv",
        "3 days JSON / sqlite3 -json",
        "3 days XML / sqlite3 -csv",
        "3 days CSV / sqlite3 -csv",
        "3 days summary by user / 3 days JSON report",
        "peak RSS, 3 days report",
        "peak RSS, 3 days / 1 day",
        "import rows/s",
    }
    printed = capsys.readouterr().out
    for target in targets:
        assert f"| {target} | SQLite |" in printed
    markdown = (out_dir / "benchmarks-smoke.md").read_text()
    assert "### Targets" in markdown
    assert "| SQLite | 1 day | JSON gzip |" in markdown
    assert report.KEEP_MARKER in markdown
    assert "API CSV vs `sqlite3 -csv`: 119 / 119 rows, equal" in markdown
    assert "| SQLite | 3 days | 300 | agentcdr summary by user (JSON) |" in markdown


def test_middleware_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import middleware

    assert middleware.main(["--rounds", "1", "--requests", "3"]) == 0
    printed = capsys.readouterr().out
    for variant in ("bare", "all", "all, gzip asked"):
        assert re.search(rf"^  {re.escape(variant)} +\d+\.\d{{3}} ms CPU/request  \d\.\d\dx$", printed, re.M)  # fmt: skip
