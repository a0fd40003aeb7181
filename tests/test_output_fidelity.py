"""Output that survives the tools people open it with: CRLF through XML parsers, U+2028 and
U+2029 through line splitters, CSV cells that stay data in spreadsheets (or, on request, are
kept from reading as formulas), over HTTP through the app, on every store."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest

from agentcdr import csvtext
from agentcdr.encoders import error_body
from agentcdr.encoders.json import escape_separators
from agentcdr.errors import InvalidValue
from tests.conftest import ApiHarness
from tests.seed import add_calls, call

DAY = {"fromDate": "2025-06-02", "toDate": "2025-06-02"}
CRLF = "left\r\nright, lone\rcr"
SEPARATORS = "line\u2028sep\u2029para"
FORMULA = '=HYPERLINK("http://x","y")'
PHONE = "+15551234567"
FIELDS = "user,disposition,phone_number,loan_number,campaign_name,lead_id"


@pytest.fixture
def odd(api: ApiHarness) -> ApiHarness:
    """The store holds, on a day of their own, calls whose text the tools trip over."""
    add_calls(
        api.url,
        [
            call("f1", "@agent", "2025-06-02 09:00:00", "GALSERVERS", disposition=CRLF),
            call("f2", "Example.User1", "2025-06-02 10:00:00", "GALSERVERS", loan=SEPARATORS),
            call("f3", "-minus", "2025-06-02 11:00:00", "GALSERVERS", disposition=FORMULA),
            call("f4", "Example.User2", "2025-06-02 12:00:00", "GALSERVERS", phone=PHONE),
        ],
    )
    return api


def test_xml_carries_a_carriage_return_as_a_character_reference(odd: ApiHarness) -> None:
    response = odd.post(responsetype="xml", order="asc", **DAY)
    assert response.status_code == 200
    assert "<disposition>left&#13;\nright, lone&#13;cr</disposition>" in response.text
    assert b"\r" not in response.content  # none left for a parser to normalise away
    root = ET.fromstring(response.content)
    assert root.findtext("data/rows/disposition") == CRLF


def test_xml_meta_escapes_a_carriage_return_too(odd: ApiHarness) -> None:
    response = odd.post(responsetype="xml", user="a\rb", **DAY)
    assert "<user>a&#13;b</user>" in response.text
    assert ET.fromstring(response.content).findtext("data/meta/filters/user") == "a\rb"


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_json_escapes_line_and_paragraph_separators(odd: ApiHarness, fmt: str) -> None:
    response = odd.post(responsetype=fmt, order="asc", fields=FIELDS, **DAY)
    assert response.status_code == 200
    assert "\u2028".encode() not in response.content
    assert "\u2029".encode() not in response.content
    assert b"line\\u2028sep\\u2029para" in response.content
    if fmt == "ndjson":
        lines = response.text.splitlines()  # what broke: U+2028 ends a line for splitlines()
        assert len(lines) == 4
        rows = [json.loads(line) for line in lines]
    else:
        rows = response.json()["data"]["rows"]
    assert rows[1]["loan_number"] == SEPARATORS


def test_json_meta_and_errors_escape_the_separators(odd: ApiHarness) -> None:
    report = odd.post(user="x\u2028y", **DAY)
    assert b"x\\u2028y" in report.content
    assert report.json()["data"]["meta"]["filters"]["user"] == ["x\u2028y"]
    error = odd.post(tz="Now\u2029here")
    assert error.status_code == 400
    assert "\u2029".encode() not in error.content
    # Messages show values as Python reprs, so no raw separator reaches one today; the body
    # would escape it all the same.
    body = error_body(InvalidValue("tz", "'x\u2028y'"), "json")
    assert (
        body == b'{"result":"error","code":"41004","message":"Invalid value for tz: \'x\\u2028y\'"}'
    )


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_summaries_escape_the_separators(odd: ApiHarness, fmt: str) -> None:
    response = odd.post(
        goAction="agent_cdr_summary",
        groupBy="disposition",
        responsetype=fmt,
        loan_number=SEPARATORS,
        **DAY,
    )
    assert response.status_code == 200
    assert "\u2028".encode() not in response.content
    if fmt == "ndjson":
        assert len(response.text.splitlines()) == 1


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_keeps_values_as_data_by_default(odd: ApiHarness) -> None:
    response = odd.post(responsetype="csv", order="asc", fields=FIELDS, **DAY)
    rows = csv_rows(response.text)
    assert [r[0] for r in rows[1:]] == ["@agent", "Example.User1", "-minus", "Example.User2"]
    assert rows[3][1] == FORMULA
    assert rows[4][2] == PHONE  # a phone number stays the number it is


def test_csv_neutralizes_formulas_on_request(odd: ApiHarness) -> None:
    response = odd.post(
        responsetype="csv", order="asc", fields=FIELDS, csvFormulas="NEUTRALIZE", **DAY
    )
    assert response.status_code == 200
    rows = csv_rows(response.text)
    assert rows[0] == FIELDS.split(",")
    assert [r[0] for r in rows[1:]] == ["'@agent", "Example.User1", "'-minus", "Example.User2"]
    assert rows[1][1] == CRLF  # only a leading character counts
    assert rows[3][1] == "'" + FORMULA
    assert rows[4][2] == "'" + PHONE
    assert [r[5] for r in rows[1:]] == ["3333333"] * 4  # numbers are never touched


def test_neutralizing_a_clean_report_changes_nothing(odd: ApiHarness) -> None:
    day = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}
    plain = odd.post(responsetype="csv", **day)
    assert odd.post(responsetype="csv", csvFormulas="neutralize", **day).text == plain.text
    assert odd.post(responsetype="csv", csvFormulas="keep", **day).text == plain.text


def test_summary_csv_neutralizes_its_keys(odd: ApiHarness) -> None:
    response = odd.post(
        goAction="agent_cdr_summary",
        groupBy="user",
        responsetype="csv",
        csvFormulas="neutralize",
        user="-minus",
        **DAY,
    )
    assert csv_rows(response.text) == [
        ["user", "calls", "total_sec", "avg_sec", "max_sec"],
        ["'-minus", "1", "47", "47", "47"],
    ]
    assert response.headers["content-disposition"].startswith("attachment; filename=")


def test_csv_formulas_takes_only_its_two_values(odd: ApiHarness) -> None:
    response = odd.post(responsetype="json", csvFormulas="yes", **DAY)
    assert response.status_code == 400
    assert response.json() == {
        "result": "error",
        "code": "41004",
        "message": "Invalid value for csvFormulas: 'yes'; allowed values are keep, neutralize",
    }
    assert "csvFormulas" not in str(odd.post(**DAY).json()["data"]["meta"]["warnings"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1555", "'+1555"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        ("'quoted", "'quoted"),
    ],
)
def test_neutral_prefixes_only_a_formula_start(text: str, expected: str) -> None:
    assert csvtext.neutral(text) == expected


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_json_and_ndjson_say_their_charset(odd: ApiHarness, fmt: str) -> None:
    assert odd.post(responsetype=fmt, **DAY).headers["content-type"].endswith("; charset=utf-8")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        # Characters that share the separators' lead byte stay as they are.
        ("em — dash … ‰", "em — dash … ‰"),
        ("em — dash\u2028and\u2029", "em — dash\\u2028and\\u2029"),
    ],
)
def test_json_separators_are_escaped_among_their_neighbours(text: str, expected: str) -> None:
    assert escape_separators(text.encode()) == expected.encode()
