"""The client's parsers on recorded bodies, in any split, and the typed rows they give."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agentcdr.client import (
    ApiError,
    AuthError,
    IncompleteResponse,
    MalformedResponse,
    PermissionDenied,
)
from agentcdr.client.parse import JsonParser, NdjsonParser, RowParser, XmlParser
from agentcdr.client.rows import duration_seconds, row_from_mapping
from agentcdr.records import natural_key
from tests.bodies import ERROR_JSON, ERROR_XML, JSON_BODY, NDJSON_BODY, ROW1, ROW2, XML_BODY

PARSERS: dict[str, tuple[Callable[[], RowParser], bytes]] = {
    "json": (JsonParser, JSON_BODY),
    "ndjson": (NdjsonParser, NDJSON_BODY),
    "xml": (XmlParser, XML_BODY),
}


def parse(parser: RowParser, body: bytes, size: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(body), size):
        rows.extend(parser.feed(body[start : start + size]))
    rows.extend(parser.close())
    return rows


def as_text(row: dict[str, Any]) -> dict[str, str]:
    """A JSON row as XML carries it: every value text, null empty."""
    return {k: "" if v is None else str(v) for k, v in row.items()}


@pytest.mark.parametrize("fmt", PARSERS)
@pytest.mark.parametrize("size", [1, 2, 7, 61, 1 << 20])
def test_parsers_yield_the_rows_in_any_split(fmt: str, size: int) -> None:
    make, body = PARSERS[fmt]
    parser = make()
    rows = parse(parser, body, size)
    expected = [ROW1, ROW2] if fmt != "xml" else [as_text(ROW1), as_text(ROW2)]
    assert rows == expected
    if fmt != "ndjson":  # NDJSON carries no trailer
        assert parser.trailer.next_cursor == "WzE3NDcxODQzNDgsMiwiZGVzYyJd"
        assert parser.trailer.meta["timezone"] == "America/New_York"
        assert [h["field"] for h in parser.trailer.headers] == ["user", "answer_time"]


def test_json_rows_arrive_before_the_body_ends() -> None:
    parser = JsonParser()
    first_row_end = JSON_BODY.index(b"} ,") + 1
    assert parser.feed(JSON_BODY[:first_row_end]) == [ROW1]


@pytest.mark.parametrize("fmt", PARSERS)
def test_every_cut_of_a_body_raises_incomplete(fmt: str) -> None:
    make, body = PARSERS[fmt]
    end = body.rstrip().rindex(b">" if fmt == "xml" else b"}") + 1
    cuts = list(range(end))
    if fmt == "ndjson":
        # A cut at a line break is invisible in NDJSON itself; HTTP framing catches it.
        cuts = [c for c in range(1, end) if 10 not in (body[c - 1], body[c])]
    for cut in cuts:
        parser = make()
        with pytest.raises(IncompleteResponse):
            parse(parser, body[:cut], 5)


@pytest.mark.parametrize(
    ("make", "body", "error", "code"),
    [
        (JsonParser, ERROR_JSON, AuthError, "10000"),
        (NdjsonParser, ERROR_JSON, AuthError, "10000"),
        (NdjsonParser, ERROR_JSON + b"\n", AuthError, "10000"),
        (XmlParser, ERROR_XML, PermissionDenied, "10001"),
    ],
)
def test_error_bodies_with_http_200_raise_typed_errors(
    make: Callable[[], RowParser], body: bytes, error: type[ApiError], code: str
) -> None:
    with pytest.raises(error) as info:
        parse(make(), body, 3)
    assert info.value.code == code
    assert info.value.message


@pytest.mark.parametrize("fmt", PARSERS)
def test_a_body_that_is_not_a_report_is_malformed(fmt: str) -> None:
    make, _ = PARSERS[fmt]
    with pytest.raises(MalformedResponse):
        parse(make(), b"<html>\n<body>502 Bad Gateway</body>\n</html>\n", 4)
    with pytest.raises(MalformedResponse):
        parse(make(), b"\n" + ERROR_JSON.replace(b"error", b"maybe") + b"\n", 4)


def test_a_row_that_is_not_flat_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        parse(JsonParser(), b'{"result":"success","data":{"rows":[{"a":[1]}]}}', 100)
    with pytest.raises(MalformedResponse):
        parse(JsonParser(), b'{"result":"success","data":{"rows":[1, 2]}}', 100)


def test_row_conversion_types_every_field() -> None:
    row = row_from_mapping(ROW1, None)
    assert row.answer_time == datetime(2025, 5, 13, 20, 59, 8)
    assert row.answer_time.tzinfo is None
    assert (row.call_duration, row.call_duration_sec, row.lead_id) == ("00:00:47", 47, 3333333)
    assert (row.profile, row.call_id) == (None, None)
    assert row.api_value("profile") == "SERVERS"
    # Without its zone a time gives no instant, so no natural key: a file written from it
    # gets its keys when it is imported, in the zone of the import.
    assert (row.natural_key(), row.api_value("call_id")) == (None, "")
    xml_row = row_from_mapping(as_text(ROW2), ZoneInfo("America/New_York"))
    assert xml_row.lead_id is None
    assert xml_row.call_duration_sec == 90007
    assert xml_row.answer_time.tzinfo == ZoneInfo("America/New_York")
    record = xml_row.to_record("remote:1")
    assert record.answer_ts == int(
        datetime(2025, 5, 14, 0, 56, 45, tzinfo=ZoneInfo("UTC")).timestamp()
    )
    # The one recipe of import and demo data, from the instant: the same in any zone.
    assert record.call_id == natural_key(
        xml_row.user, record.answer_ts, xml_row.phone_number, None, xml_row.campaign_name
    )
    in_utc = row_from_mapping({**as_text(ROW2), "answer_time": "2025-05-14 00:56:45"}, UTC)
    assert in_utc.natural_key() == record.call_id
    with pytest.raises(ValueError, match="tz="):
        row.to_record()
    extra = row_from_mapping({**ROW1, "call_id": 17, "profile": "X", "call_duration_sec": 48}, None)
    assert (extra.call_id, extra.profile, extra.call_duration_sec) == ("17", "X", 48)
    with pytest.raises(MalformedResponse):
        row_from_mapping({**ROW1, "answer_time": "yesterday"}, None)
    assert duration_seconds("100:00:01") == 360001
