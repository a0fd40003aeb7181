"""The one CSV rule: the server's encoder, ``agentcdr fetch`` and the demo's CSV write the same
cells the same way, and the way Python's csv module reads back."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agentcdr import csvtext
from agentcdr.client.output import ReportFile
from agentcdr.client.plan import Span
from agentcdr.client.rows import CdrRow
from agentcdr.demo import CSV_HEADER, DemoSpec, write_csv
from agentcdr.records import ROW_COLUMNS
from agentcdr.render import compile_batch

ODD = ["plain", 'say "hi"', "a,b", "line\nbreak", "cr\rhere", "crlf\r\n", "", " space ", "é 漢字"]


def python_csv(rows: list[list[str]], end: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=end).writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize("odd", ODD)
def test_the_rule_is_rfc_4180_minimal_quoting(odd: str) -> None:
    rows = [["a", "b", "c"], ["x", odd, "z"], ["a", "b", "c"]]
    text = csvtext.lines(rows)
    # What the csv module writes with a CRLF line end (which makes it quote a lone CR too).
    assert text == python_csv(rows, "\r\n")
    assert list(csv.reader(io.StringIO(text, newline=""))) == rows
    # With LF line ends a bare CR is quoted all the same: readers take it for a line end.
    lf = csvtext.lines(rows, "\n")
    assert lf == text.replace("\r\n", "\n").replace('"crlf\n"', '"crlf\r\n"')
    assert list(csv.reader(io.StringIO(lf, newline=""))) == rows
    assert csvtext.plain(text, 3, 3) is (odd in ("plain", "", " space ", "é 漢字"))


def test_a_lone_empty_cell_is_not_a_blank_line() -> None:
    rows = [["x"], [""], ["y"]]
    assert csvtext.lines(rows) == 'x\r\n""\r\ny\r\n' == python_csv(rows, "\r\n")
    assert csvtext.lines([]) == ""


def test_the_server_and_fetch_write_the_same_bytes(tmp_path: Path) -> None:
    fields = ("user", "disposition", "answer_time", "lead_id", "campaign_name")
    tz = ZoneInfo("UTC")
    store_rows, client_rows = [], []
    for n, text in enumerate(ODD):
        values = dict.fromkeys(ROW_COLUMNS, "v")
        values.update(answer_ts=1747170000 + n, call_duration_sec=61, lead_id=n or None)
        values.update(user=f"Agent.{n}", disposition=text, campaign_name="GAL,SERVERS")
        store_rows.append(tuple(values[c] for c in ROW_COLUMNS))
        answer = datetime.fromtimestamp(1747170000 + n, UTC).replace(tzinfo=None)
        client_rows.append(
            CdrRow(
                user=f"Agent.{n}", answer_time=answer, disposition=text, phone_number="v",
                loan_number="v", call_type="v", call_duration="00:01:01", call_duration_sec=61,
                lead_id=n or None, term_reason="v", portfolio="v", campaign_name="GAL,SERVERS",
            )
        )  # fmt: skip
    server = ",".join(fields) + "\r\n" + compile_batch(fields, tz, "csv")(store_rows)
    report = ReportFile(tmp_path / "r.csv", "csv", fields, {})
    report.open()
    report.write(client_rows)
    report.span_done(Span(date(2025, 5, 13), date(2025, 5, 13)))
    report.finish()
    assert (tmp_path / "r.csv").read_bytes() == server.encode()


def test_the_demo_csv_follows_the_rule() -> None:
    out = io.StringIO()
    count = write_csv(out, DemoSpec(2, 5, 40, 3, ZoneInfo("UTC"), date(2025, 5, 13), None))
    lines = out.getvalue().split("\n")
    assert lines[0] == ",".join(CSV_HEADER)
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert len(rows) == count + 1
    assert out.getvalue() == csvtext.lines(rows, "\n") == python_csv(rows, "\n")
