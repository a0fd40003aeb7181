"""Report rows as the encoders render them: durations, escaping, batches (answer times are
checked against the stdlib in test_clock.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from agentcdr import csvtext
from agentcdr.encoders.xml import clean
from agentcdr.records import ROW_COLUMNS
from agentcdr.render import compile_batch, compile_row, format_duration


def test_durations_never_wrap() -> None:
    assert [format_duration(s) for s in (0, 47, 3599, 86399, 90007, 360000)] == [
        "00:00:00",
        "00:00:47",
        "00:59:59",
        "23:59:59",
        "25:00:07",
        "100:00:00",
    ]


def test_row_functions_escape_only_what_needs_it() -> None:
    values = dict.fromkeys(ROW_COLUMNS, "x")
    values.update(
        answer_ts=1747170000,
        call_duration_sec=90007,
        lead_id=None,
        disposition='A <b> & "c", d',
        user="Ana",
    )
    row = tuple(values[c] for c in ROW_COLUMNS)
    fields = ("user", "answer_time", "disposition", "call_duration", "lead_id")
    tz = ZoneInfo("UTC")
    assert compile_row(fields, tz, "dict")(row) == {
        "user": "Ana",
        "answer_time": "2025-05-13 21:00:00",
        "disposition": 'A <b> & "c", d',
        "call_duration": "25:00:07",
        "lead_id": None,
    }
    assert compile_row(fields, tz, "xml")(row) == (
        "<rows><user>Ana</user><answer_time>2025-05-13 21:00:00</answer_time>"
        '<disposition>A &lt;b&gt; &amp; "c", d</disposition>'
        "<call_duration>25:00:07</call_duration><lead_id></lead_id></rows>\n"
    )
    assert compile_row(fields, tz, "csv")(row) == (
        'Ana,2025-05-13 21:00:00,"A <b> & ""c"", d",25:00:07,\r\n'
    )


@pytest.mark.parametrize("kind", ["xml", "csv"])
@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "a&b",
        "a<b",
        "a>b",
        "<x>",
        'say "hi"',
        "a,b",
        "line\nbreak",
        "cr\rhere",
        "",
        "é ñ 漢字",
    ],
)
def test_batches_render_exactly_as_row_by_row_escaping(kind: str, text: str) -> None:
    tz = ZoneInfo("America/New_York")
    fields = ("user", "disposition", "answer_time", "lead_id", "call_duration")
    values = dict.fromkeys(ROW_COLUMNS, "v")
    values.update(answer_ts=1747170000, call_duration_sec=61, lead_id=7)
    clean_row = tuple(values[c] for c in ROW_COLUMNS)
    values.update(disposition=text)
    odd_row = tuple(values[c] for c in ROW_COLUMNS)
    one = compile_row(fields, tz, kind)
    batch = [clean_row, odd_row, clean_row]
    assert compile_batch(fields, tz, kind)(batch) == "".join(one(r) for r in batch)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain é", "plain é"),
        ("bell\x07", "bell\ufffd"),
        ("nul\x00", "nul\ufffd"),
        ("tab\tnl\ncr\r", "tab\tnl\ncr\r"),
        ("bad\ufffe\uffff", "bad\ufffd\ufffd"),
        # Other characters of U+F000-U+FFFF share the lead byte and stay.
        ("full\uff01width\ufffd", "full\uff01width\ufffd"),
        ("full\uff01 — \ufffe", "full\uff01 — \ufffd"),
    ],
)
def test_xml_replaces_characters_xml_cannot_carry(text: str, expected: str) -> None:
    assert clean(text) == expected.encode()


@pytest.mark.parametrize(
    "text", ["plain", "=1+2", "+15551234567", "-x", "@x", "\tx", "a=b", "a,=b", "", "é"]
)
@pytest.mark.parametrize("where", ["user", "disposition"])  # the first cell of a line, or not
def test_neutralized_csv_batches_render_exactly_as_row_by_row(text: str, where: str) -> None:
    tz = ZoneInfo("UTC")
    fields = ("user", "disposition", "lead_id", "answer_time")
    values = dict.fromkeys(ROW_COLUMNS, "v")
    values.update(answer_ts=1747170000, call_duration_sec=61, lead_id=-7)
    clean_row = tuple(values[c] for c in ROW_COLUMNS)
    values[where] = text
    odd_row = tuple(values[c] for c in ROW_COLUMNS)
    one = compile_row(fields, tz, "csv", neutralize=True)
    batch = [clean_row, odd_row, clean_row]
    rendered = compile_batch(fields, tz, "csv", neutralize=True)(batch)
    assert rendered == "".join(one(r) for r in batch)
    assert ",-7," in rendered  # a number is never neutralized
    cells = {"user": "v", "disposition": "v", where: text}
    user, disposition = (csvtext.cell(csvtext.neutral(cells[f])) for f in fields[:2])
    assert one(odd_row) == f"{user},{disposition},-7,2025-05-13 21:00:00\r\n"
