"""``agentcdr import``: CSV, NDJSON and API JSON files into a real SQLite store.

Every bad-input case checks the exact line a user sees and that nothing of the file was
stored (the count of calls is the same before and after).
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from click.testing import CliRunner, Result

from agentcdr.cli import main
from agentcdr.errors import DataError
from agentcdr.ingest import import_file, natural_key
from agentcdr.ingest.pipeline import PROCESS_BYTES
from agentcdr.store import open_call_store
from tests.conftest import ApiHarness
from tests.seed import CALLS

TZ = "America/New_York"
HEADER = (
    "user,answer_time,disposition,phone_number,loan_number,call_type,call_duration,"
    "lead_id,term_reason,portfolio,campaign_name"
)
GOOD = "Example.User1,2025-05-13 20:59:08,VM / NML,1234567890,1111111-222222-001,MANUAL,00:00:47,3333333,CALLER,GAL,GALSERVERS"
GOOD2 = "Example.User2,2025-05-13 20:56:45,PTP - Promise To Pay,9876543210,,dialer,25:00:07,,AGENT,csc,CSCCOLLECTIONS"
STORED_COLUMNS = (
    "source, call_id, agent, answer_ts, disposition, phone_number, loan_number, call_type, "
    "duration_sec, lead_id, term_reason, portfolio, campaign_name, profile"
)


def db_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def stored(url: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path(url)) as db:
        return db.execute(f"SELECT {STORED_COLUMNS} FROM calls ORDER BY answer_ts, id").fetchall()


def count(url: str) -> int:
    if not Path(db_path(url)).exists():
        return 0
    with sqlite3.connect(db_path(url)) as db:
        return int(db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])


def cli(url: str, *args: str, tz: str = TZ) -> Result:
    return CliRunner().invoke(main, ["--db", url, "--tz", tz, *args], catch_exceptions=False)


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def utc(text: str, hours: int) -> int:
    """Epoch seconds of a wall time at a fixed UTC offset (independent of zoneinfo)."""
    naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    return int(naive.replace(tzinfo=timezone(timedelta(hours=hours))).timestamp())


@pytest.fixture
def seeded(sqlite_url: str, tmp_path: Path) -> str:
    """A store that already holds two calls, so 'nothing committed' is a real check."""
    result = cli(sqlite_url, "import", str(write(tmp_path / "base.csv", HEADER, GOOD, GOOD2)))
    assert result.exit_code == 0, result.output
    return sqlite_url


# -- CSV -------------------------------------------------------------------------------------


def test_csv_import_stores_validated_values(sqlite_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "calls.csv", HEADER, GOOD, GOOD2)
    result = cli(sqlite_url, "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: 2 rows: 2 inserted, 0 updated, 0 unchanged (")
    rows = stored(sqlite_url)
    key2 = natural_key("Example.User2", utc("2025-05-13 20:56:45", -4), "9876543210", None, "CSCCOLLECTIONS")  # fmt: skip
    key1 = natural_key("Example.User1", utc("2025-05-13 20:59:08", -4), "1234567890", 3333333, "GALSERVERS")  # fmt: skip
    assert rows == [
        ("", key2, "Example.User2", utc("2025-05-13 20:56:45", -4), "PTP - Promise To Pay",
         "9876543210", "", "DIALER", 90007, None, "AGENT", "CSC", "CSCCOLLECTIONS", "COLLECTIONS"),
        ("", key1, "Example.User1", utc("2025-05-13 20:59:08", -4), "VM / NML", "1234567890",
         "1111111-222222-001", "MANUAL", 47, 3333333, "CALLER", "GAL", "GALSERVERS", "SERVERS"),
    ]  # fmt: skip
    assert re.fullmatch(r"nk:[0-9a-f]{32}", key1)


def test_duration_seconds_column_equals_clock_column(sqlite_url: str, tmp_path: Path) -> None:
    clock = write(tmp_path / "clock.csv", HEADER + ",call_id", GOOD + ",c1", GOOD2 + ",c2")
    seconds = write(
        tmp_path / "seconds.csv",
        HEADER.replace("call_duration", "call_duration_sec") + ",call_id",
        GOOD.replace("00:00:47", "47") + ",c1",
        GOOD2.replace("25:00:07", "90007") + ",c2",
    )
    assert cli(sqlite_url, "import", str(clock)).exit_code == 0
    first = stored(sqlite_url)
    result = cli(sqlite_url, "import", str(seconds))
    assert result.exit_code == 0, result.output
    assert "0 inserted, 0 updated, 2 unchanged" in result.stdout
    assert stored(sqlite_url) == first
    assert [r[8] for r in first] == [90007, 47]


def test_import_twice_adds_nothing(seeded: str, tmp_path: Path) -> None:
    result = cli(seeded, "import", str(tmp_path / "base.csv"))
    assert result.exit_code == 0, result.output
    assert "2 rows: 0 inserted, 0 updated, 2 unchanged" in result.stdout
    assert count(seeded) == 2


def test_changed_row_with_call_id_is_updated(sqlite_url: str, tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", HEADER + ",call_id", GOOD + ",c1", GOOD2 + ",c2")
    second = write(tmp_path / "b.csv", HEADER + ",call_id", GOOD.replace("VM / NML", "RPC") + ",c1")
    assert cli(sqlite_url, "import", str(first)).exit_code == 0
    result = cli(sqlite_url, "import", str(second))
    assert "1 rows: 0 inserted, 1 updated, 0 unchanged" in result.stdout
    assert [r[4] for r in stored(sqlite_url)] == ["PTP - Promise To Pay", "RPC"]


def test_source_keeps_call_ids_apart(sqlite_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", HEADER + ",call_id", GOOD + ",c1")
    assert cli(sqlite_url, "import", str(path)).exit_code == 0
    result = cli(sqlite_url, "import", "--source", "branch2", str(path))
    assert "1 inserted" in result.stdout
    assert sorted(r[0] for r in stored(sqlite_url)) == ["", "branch2"]


def test_header_titles_bom_profile_and_unknown_columns(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    titles = "USER,ANSWER TIME,DISPOSITION,PHONE NUMBER,LOAN NUMBER,CALL TYPE,CALL DURATION,LEAD ID,TERM REASON,PORTFOLIO,CAMPAIGN NAME"  # fmt: skip
    path.write_bytes(
        (
            "\ufeff" + titles + ",Profile,notes,extra\r\n"
            + GOOD + ",Dialer Team,x,y\r\n"
            + '"Example.User3","2025-05-13 10:00:00","said ""hi"", then\nhung up",1,,INBOUND,00:00:05,,CALLER,TRX,OTHERCAMP,,x,y\r\n'
        ).encode()
    )  # fmt: skip
    result = cli(sqlite_url, "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"agentcdr: warning: {path}: ignoring unknown columns: notes, extra\n"
    rows = stored(sqlite_url)
    assert [(r[2], r[4], r[7], r[11], r[13]) for r in rows] == [
        ("Example.User3", 'said "hi", then\nhung up', "INBOUND", "TRX", "OTHERCAMP"),
        ("Example.User1", "VM / NML", "MANUAL", "GAL", "DIALER TEAM"),
    ]


def test_format_option_and_unknown_extension(sqlite_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "calls.txt", HEADER, GOOD)
    result = cli(sqlite_url, "import", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"agentcdr: error: cannot tell the format of {path} from its extension; "
        "use --format (csv, ndjson, json)\n"
    )
    result = cli(sqlite_url, "import", "--format", "csv", str(path))
    assert result.exit_code == 0, result.output
    assert count(sqlite_url) == 1


def test_progress_lines_when_forced(sqlite_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "calls.csv", HEADER, GOOD)
    result = cli(sqlite_url, "import", "--progress", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"{path}: 100% read\n"
    assert cli(sqlite_url, "import", str(path)).stderr == ""  # not a terminal: no progress


BAD_CSV = [
    (",2025-05-13 10:00:00,VM,1,,MANUAL,00:00:01,,CALLER,GAL,GALSERVERS",
     "field user: must not be empty"),
    ("A.B1,2025-02-30 10:00:00,VM,1,,MANUAL,00:00:01,,CALLER,GAL,GALSERVERS",
     "field answer_time: expected a valid YYYY-MM-DD HH:MM:SS, got '2025-02-30 10:00:00'"),
    ("A.B1,2025-05-13T10:00:00,VM,1,,MANUAL,00:00:01,,CALLER,GAL,GALSERVERS",
     "field answer_time: expected a valid YYYY-MM-DD HH:MM:SS, got '2025-05-13T10:00:00'"),
    ("A.B1,2025-05-13 24:00:00,VM,1,,MANUAL,00:00:01,,CALLER,GAL,GALSERVERS",
     "field answer_time: expected a valid YYYY-MM-DD HH:MM:SS, got '2025-05-13 24:00:00'"),
    ("A.B1,2025-05-13 10:00:00,VM,1,,PREVIEW,00:00:01,,CALLER,GAL,GALSERVERS",
     "field call_type: must be one of MANUAL, DIALER, INBOUND, got 'PREVIEW'"),
    ("A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,00:00:01,,CALLER,GA,GALSERVERS",
     "field portfolio: must be exactly 3 letters or digits, got 'GA'"),
    ("A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,00:00:01,,CALLER,G-L,GALSERVERS",
     "field portfolio: must be exactly 3 letters or digits, got 'G-L'"),
    ("A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,00:00:01,12a,CALLER,GAL,GALSERVERS",
     "field lead_id: must be a whole number, got '12a'"),
    ("A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,00:00:01,-3,CALLER,GAL,GALSERVERS",
     "field lead_id: must not be negative, got '-3'"),
    ("A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,00:00:01,99999999999999999999,CALLER,GAL,GALSERVERS",
     "field lead_id: is too large: 99999999999999999999"),
    ("A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,00:61:00,,CALLER,GAL,GALSERVERS",
     "field call_duration: expected HH:MM:SS, got '00:61:00'"),
    ("A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,-00:00:05,,CALLER,GAL,GALSERVERS",
     "field call_duration: must not be negative, got '-00:00:05'"),
    ("A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,,,CALLER,GAL,GALSERVERS",
     "field call_duration: must not be empty"),
    ("A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,00:00:01,,CALLER,GAL,  ",
     "field campaign_name: must not be empty"),
    ("A" * 65 + ",2025-05-13 10:00:00,VM,1,,MANUAL,00:00:01,,CALLER,GAL,GALSERVERS",
     "field user: is longer than 64 characters"),
    ("A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,00:00:01,,CALLER,GAL",
     "field (row): 10 values, but the header has 11 columns"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "message"), BAD_CSV)
def test_bad_csv_value_names_line_and_field(
    seeded: str, tmp_path: Path, line: str, message: str
) -> None:
    path = write(tmp_path / "bad.csv", HEADER, GOOD.replace("20:59", "21:00"), "", line, GOOD)
    result = cli(seeded, "import", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"agentcdr: error: {path}:4: {message}\n"
    assert count(seeded) == 2


def test_bad_seconds_column(seeded: str, tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.csv",
        HEADER.replace("call_duration", "call_duration_sec"),
        "A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,-5,,CALLER,GAL,GALSERVERS",
    )
    result = cli(seeded, "import", str(path))
    assert result.stderr == (
        f"agentcdr: error: {path}:2: field call_duration_sec: must not be negative, got '-5'\n"
    )
    assert count(seeded) == 2


def test_line_number_counts_physical_lines_of_quoted_fields(seeded: str, tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.csv",
        HEADER,
        'A.B1,2025-05-13 10:00:00,"two\nlines",1,,MANUAL,00:00:01,,CALLER,GAL,GALSERVERS',
        "A.B1,2025-05-13 10:00:00,VM,1,,MANUAL,00:00:01,,CALLER,GAL,",
    )
    result = cli(seeded, "import", str(path))
    assert result.stderr == f"agentcdr: error: {path}:4: field campaign_name: must not be empty\n"
    assert count(seeded) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "1: field (header): the file is empty; expected a header row"),
        (HEADER.replace(",campaign_name", "") + "\n",
         "1: field campaign_name: missing column in the header row"),
        (HEADER.replace(",call_duration", "") + "\n",
         "1: field call_duration: missing column (call_duration or call_duration_sec)"),
        (HEADER + ",user\n", "1: field user: the header names this column twice"),
    ],
)  # fmt: skip
def test_bad_csv_header(seeded: str, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = cli(seeded, "import", str(path))
    assert result.stderr == f"agentcdr: error: {path}:{message}\n"
    assert count(seeded) == 2


def test_invalid_utf8_is_a_data_error(seeded: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes((HEADER + "\n" + GOOD + "\n").encode() + b"\xff\xfe broken\n")
    result = cli(seeded, "import", str(path))
    assert result.exit_code == 1
    assert result.stderr == f"agentcdr: error: {path}:1: field (row): not UTF-8 text near this line\n"  # fmt: skip
    assert count(seeded) == 2


def test_error_after_written_batches_rolls_back_the_whole_file(seeded: str, tmp_path: Path) -> None:
    # More rows than one batch (5000), so batches were written before the bad row.
    rows = [GOOD.replace("3333333", str(4_000_000 + n)) for n in range(6000)]
    path = write(tmp_path / "big.csv", HEADER, *rows, GOOD.replace("GAL,", "GALX,"))
    result = cli(seeded, "import", str(path))
    assert result.stderr == (
        f"agentcdr: error: {path}:6002: field portfolio: "
        "must be exactly 3 letters or digits, got 'GALX'\n"
    )
    assert count(seeded) == 2


def test_second_file_fails_first_stays(seeded: str, tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", HEADER + ",call_id", GOOD + ",new1")
    bad = write(tmp_path / "bad.csv", HEADER + ",call_id", GOOD + ",new2", ",,,,,,,,,,,x")
    result = cli(seeded, "import", str(good), str(bad))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{good}: 1 rows: 1 inserted")
    assert result.stderr == f"agentcdr: error: {bad}:3: field user: must not be empty\n"
    assert count(seeded) == 3


def test_library_rolls_back_after_batches(sqlite_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "calls.csv", HEADER + ",call_id", *(f"{GOOD},c{n}" for n in range(7)), "x")  # fmt: skip

    async def attempt() -> None:
        store = open_call_store(sqlite_url)
        await store.open()
        try:
            await import_file(store, path, tz=ZoneInfo(TZ), batch_rows=2)
        finally:
            await store.close()

    with pytest.raises(DataError) as caught:
        asyncio.run(attempt())
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), 9, "(row)")
    assert count(sqlite_url) == 0


# -- NDJSON ----------------------------------------------------------------------------------

ROW = {
    "user": "Example.User1",
    "answer_time": "2025-05-13 20:59:08",
    "disposition": "VM / NML",
    "phone_number": "1234567890",
    "loan_number": "1111111-222222-001",
    "call_type": "MANUAL",
    "call_duration": "00:00:47",
    "lead_id": 3333333,
    "term_reason": "CALLER",
    "portfolio": "GAL",
    "campaign_name": "GALSERVERS",
}


def json_line(**changes: Any) -> str:
    row = {**ROW, **changes}
    return orjson.dumps({k: v for k, v in row.items() if v is not ...}).decode()


def test_ndjson_import(sqlite_url: str, tmp_path: Path) -> None:
    path = write(
        tmp_path / "calls.ndjson",
        json_line(call_id="n1"),
        "",
        json_line(call_id="n2", lead_id=None, loan_number=None, call_duration=...,
                  call_duration_sec=90007, phone_number=5551234567, profile="special",
                  note="x"),
        json_line(call_id="n3", lead_id="4444444", note="y", more=1),
    )  # fmt: skip
    result = cli(sqlite_url, "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"agentcdr: warning: {path}: ignoring unknown keys: note\n"
        f"agentcdr: warning: {path}: ignoring unknown keys: more\n"
    )
    rows = stored(sqlite_url)
    assert [(r[1], r[5], r[6], r[8], r[9], r[13]) for r in rows] == [
        ("n1", "1234567890", "1111111-222222-001", 47, 3333333, "SERVERS"),
        ("n2", "5551234567", "", 90007, None, "SPECIAL"),
        ("n3", "1234567890", "1111111-222222-001", 47, 4444444, "SERVERS"),
    ]
    # .jsonl is the same format, and the same rows change nothing.
    again = tmp_path / "calls.jsonl"
    again.write_bytes(path.read_bytes())
    assert "0 inserted, 0 updated, 3 unchanged" in cli(sqlite_url, "import", str(again)).stdout


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (json_line(campaign_name=...), "field campaign_name: missing"),
        (json_line(call_duration=...),
         "field call_duration: missing (give call_duration or call_duration_sec)"),
        (json_line(call_duration=..., call_duration_sec=12.5),
         "field call_duration_sec: expected a string, a whole number or null, got 12.5"),
        (json_line(user=None), "field user: must not be empty"),
        (json_line(user=True), "field user: expected a string, a whole number or null, got True"),
        (json_line(portfolio="GALS"),
         "field portfolio: must be exactly 3 letters or digits, got 'GALS'"),
        ("[1, 2]", "field (row): expected a JSON object"),
    ],
)  # fmt: skip
def test_bad_ndjson_row(seeded: str, tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path / "bad.ndjson", json_line(call_id="ok"), "  ", line)
    result = cli(seeded, "import", str(path))
    assert result.exit_code == 1
    assert result.stderr == f"agentcdr: error: {path}:3: {message}\n"
    assert count(seeded) == 2


def test_ndjson_syntax_error(seeded: str, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.ndjson", json_line(call_id="ok"), '{"user": ')
    result = cli(seeded, "import", str(path))
    assert result.stderr.startswith(f"agentcdr: error: {path}:2: field (row): not valid JSON: ")
    assert count(seeded) == 2


# -- the API's JSON response -----------------------------------------------------------------


def api_document(rows: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    headers = [{"title": k.upper().replace("_", " "), "field": k, "formatter": "html"} for k in ROW]
    return {
        "result": "success",
        # headers first and meta (with nested values) last: key order must not matter
        "data": {"headers": headers, "rows": rows, "meta": {"warnings": [], "f": {"a": [1]}}},
        **top,
    }


def test_api_json_pretty_and_compact(sqlite_url: str, tmp_path: Path) -> None:
    rows = [
        {**ROW, "disposition": 'RPC {"x": [1]} \\ done', "lead_id": None},
        {**ROW, "answer_time": "2025-05-12 09:00:00", "user": "José.Núñez1"},
    ]
    pretty = tmp_path / "pretty.json"
    pretty.write_bytes(orjson.dumps(api_document(rows), option=orjson.OPT_INDENT_2))
    result = cli(sqlite_url, "import", str(pretty))
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 inserted" in result.stdout
    assert [(r[2], r[4], r[9]) for r in stored(sqlite_url)] == [
        ("José.Núñez1", "VM / NML", 3333333),
        ("Example.User1", 'RPC {"x": [1]} \\ done', None),
    ]
    compact = tmp_path / "compact.json"
    compact.write_bytes(orjson.dumps(api_document(rows)))
    assert "0 inserted, 0 updated, 2 unchanged" in cli(sqlite_url, "import", str(compact)).stdout
    bare = tmp_path / "bare.json"
    bare.write_bytes(orjson.dumps(rows))
    assert "0 inserted, 0 updated, 2 unchanged" in cli(sqlite_url, "import", str(bare)).stdout


def test_api_json_larger_than_a_read_chunk(sqlite_url: str, tmp_path: Path) -> None:
    # About 3 MiB: rows, strings and line counting cross the scanner's 1 MiB refills.
    rows = [{**ROW, "call_id": f"r{n}", "disposition": "x" * 90 + '\\"}{'} for n in range(12000)]
    path = tmp_path / "big.json"
    path.write_bytes(orjson.dumps(api_document(rows), option=orjson.OPT_INDENT_2))
    assert path.stat().st_size > 3 << 20
    result = cli(sqlite_url, "import", str(path))
    assert result.exit_code == 0, result.output
    assert count(sqlite_url) == 12000
    # An error near the end names the physical line of the row and its index.
    rows[11000]["portfolio"] = "G"
    path.write_bytes(orjson.dumps(api_document(rows), option=orjson.OPT_INDENT_2))
    lines = path.read_text().splitlines()
    at = next(n for n, text in enumerate(lines) if '"r11000"' in text)
    start = max(n for n in range(at) if lines[n].strip() == "{") + 1  # the row's "{" line
    result = cli(sqlite_url, "import", str(path))
    assert result.stderr == (
        f"agentcdr: error: {path}:{start}: field portfolio: "
        "must be exactly 3 letters or digits, got 'G' (data.rows[11000])\n"
    )
    assert count(sqlite_url) == 12000


@pytest.mark.parametrize("size", ["small", "read by a child process"])
def test_api_json_in_another_zone_is_refused(seeded: str, tmp_path: Path, size: str) -> None:
    # A report's answer times are wall clock in its meta.timezone; read in another zone each
    # call would move by the difference, so the file is refused whole, naming the fix.
    rows = [ROW] if size == "small" else [
        {**ROW, "call_id": f"z{n}", "disposition": "x" * 90} for n in range(36000)
    ]  # fmt: skip
    document = api_document(rows)
    document["data"]["meta"]["timezone"] = "Europe/Berlin"
    path = tmp_path / "berlin.json"
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    assert (path.stat().st_size >= PROCESS_BYTES) == (size != "small")
    result = cli(seeded, "import", str(path))
    assert result.exit_code == 1
    last = len(path.read_bytes().splitlines())
    assert result.stderr == (
        f"agentcdr: error: {path}:{last}: field (json): the report's answer times are in "
        "Europe/Berlin (meta.timezone), not in the import's zone America/New_York: "
        "import it with --tz Europe/Berlin\n"
    )
    assert count(seeded) == 2
    result = cli(seeded, "import", str(path), tz="Europe/Berlin")
    assert result.exit_code == 0, result.output
    assert count(seeded) == 2 + len(rows)  # (ROW read in Berlin is another instant)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b'{"result": "error", "code": "10000", "message": "Invalid Username/Password"}',
         "1: field (json): the file is an API error response (result 'error'): "
         "Invalid Username/Password"),
        (b'{"result": "success", "data": {"headers": []}}',
         "1: field (json): not an agent_cdr API response: no data.rows"),
        (b'"just a string"',
         "1: field (json): expected an agent_cdr API response (a JSON object) or an array"),
        (b'{"result": "success", "data": {"rows": [\n' + orjson.dumps(ROW) + b",\n" + orjson.dumps(ROW),
         "3: field (json): expected ',' or ']' after data.rows[1]"),
        (b'{"data": {"rows": [{"user": {"nested": 1}}]}}',
         "1: field (json): expected a flat JSON object at data.rows[0]"),
        (b'{"data": {"rows": []}} trailing',
         "1: field (json): unexpected data after the end of the JSON document"),
        (b'{"data": {"rows": [\n' + orjson.dumps({**ROW, "lead_id": 1.5}) + b"]}}",
         "2: field lead_id: expected a string, a whole number or null, got 1.5 (data.rows[0])"),
    ],
)  # fmt: skip
def test_bad_api_json(seeded: str, tmp_path: Path, document: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(document)
    result = cli(seeded, "import", str(path))
    assert result.exit_code == 1
    assert result.stderr == f"agentcdr: error: {path}:{message}\n"
    assert count(seeded) == 2


@pytest.mark.parametrize("responsetype", ["json", "csv", "ndjson"])
def test_report_pulled_from_a_server_loads_as_it_is(
    sqlite_api: ApiHarness, tmp_path: Path, responsetype: str
) -> None:
    response = sqlite_api.post(
        responsetype=responsetype, fromDate="2025-05-01", toDate="2025-05-31"
    )
    assert response.status_code == 200, response.text
    path = tmp_path / f"report.{responsetype}"
    path.write_bytes(response.content)
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = cli(target, "import", str(path))
    assert result.exit_code == 0, result.output
    expected = sorted(
        (c.user, c.answer_ts, c.disposition, c.phone_number, c.loan_number, c.call_type,
         c.call_duration_sec, c.lead_id, c.term_reason, c.portfolio, c.campaign_name, c.profile)
        for c in CALLS
    )  # fmt: skip
    assert sorted(r[2:] for r in stored(target)) == expected
    assert f"{len(CALLS)} inserted" in result.stdout


# -- time zones ------------------------------------------------------------------------------


def test_dst_gap_and_fold_follow_the_documented_rule(sqlite_url: str, tmp_path: Path) -> None:
    times = {
        "2025-03-09 01:59:59": utc("2025-03-09 01:59:59", -5),
        "2025-03-09 02:30:00": utc("2025-03-09 02:30:00", -5),  # in the gap: offset before
        "2025-03-09 03:00:00": utc("2025-03-09 03:00:00", -4),
        "2025-03-09 23:59:59": utc("2025-03-09 23:59:59", -4),
        "2025-11-02 00:30:00": utc("2025-11-02 00:30:00", -4),
        "2025-11-02 01:30:00": utc("2025-11-02 01:30:00", -4),  # repeated: first occurrence
        "2025-11-02 02:00:00": utc("2025-11-02 02:00:00", -5),
        "2025-11-03 12:00:00": utc("2025-11-03 12:00:00", -5),
    }
    lines = [GOOD.replace("2025-05-13 20:59:08", local) + f",t{n}" for n, local in enumerate(times)]
    path = write(tmp_path / "dst.csv", HEADER + ",call_id", *lines)
    assert cli(sqlite_url, "import", str(path)).exit_code == 0
    by_id = {r[1]: r[3] for r in stored(sqlite_url)}
    assert [by_id[f"t{n}"] for n in range(len(times))] == list(times.values())


def test_same_file_in_another_zone_is_other_instants(sqlite_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", HEADER + ",call_id", GOOD + ",z1")
    assert cli(sqlite_url, "import", str(path), tz="UTC").exit_code == 0
    assert stored(sqlite_url)[0][3] == int(datetime(2025, 5, 13, 20, 59, 8, tzinfo=UTC).timestamp())


def test_progress_bar_on_a_terminal(sqlite_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "calls.csv", HEADER, GOOD)
    primary, secondary = os.openpty()  # stderr of the command is a terminal
    try:
        done = subprocess.run(
            [sys.executable, "-m", "agentcdr", "--db", sqlite_url, "--tz", TZ, "import", str(path)],
            stderr=secondary, stdout=subprocess.PIPE, check=False, timeout=60,
        )  # fmt: skip
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the other side of the terminal is closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
    assert done.returncode == 0, shown
    assert done.stdout.startswith(f"{path}: 1 rows: 1 inserted".encode())
    assert b"100%" in shown
    assert str(path).encode() in shown


def _calls_in(url: str) -> int:
    from agentcdr.store import open_call_store

    async def run() -> int:
        store = open_call_store(url)
        await store.open()
        try:
            return await store.count_calls()
        finally:
            await store.close()

    return asyncio.run(run())


@pytest.mark.parametrize("field", ["disposition", "user", "loan_number"])
def test_a_nul_byte_is_a_one_line_error_and_nothing_is_committed(
    store_url: str, tmp_path: Path, field: str
) -> None:
    """On every store (PostgreSQL refuses NUL in text outright): after a first batch was
    written, the file is refused in one line and none of it stays."""
    column = HEADER.split(",").index(field)
    bad = GOOD.split(",")
    bad[column] = bad[column][:3] + "\x00" + bad[column][3:]
    rows = [GOOD.replace("3333333", str(4_000_000 + n)) for n in range(6000)]
    path = write(tmp_path / "nul.csv", HEADER, *rows, ",".join(bad))
    result = cli(store_url, "import", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"agentcdr: error: {path}:6002: field {field}: contains a NUL character\n"
    )
    assert _calls_in(store_url) == 0
