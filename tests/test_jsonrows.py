"""The one streaming JSON rows parser (client responses and imported files): rows in any
split, what it keeps around them, where its errors point, and the memory it holds."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import orjson
import pytest

from agentcdr.client import MalformedResponse
from agentcdr.client.parse import JsonParser
from agentcdr.jsonrows import JsonRowsError, Row, RowsParser
from tests.bodies import JSON_BODY, ROW1, ROW2


def parse(
    body: bytes, size: int, *, bare: bool = True, limit: int = 1 << 20
) -> tuple[RowsParser, list[Row]]:
    parser = RowsParser(bare_array=bare, max_item_bytes=limit)
    rows: list[Row] = []
    for start in range(0, len(body), size):
        rows.extend(parser.feed(body[start : start + size]))
    parser.close()
    return parser, rows


def failure(body: bytes, size: int = 7, **options: object) -> JsonRowsError:
    with pytest.raises(JsonRowsError) as raised:
        parse(body, size, **options)  # type: ignore[arg-type]
    return raised.value


@pytest.mark.parametrize("size", [1, 3, 64, 1 << 20])
def test_rows_lines_and_what_surrounds_them_in_any_split(size: int) -> None:
    parser, rows = parse(JSON_BODY, size)
    assert [r.value for r in rows] == [ROW1, ROW2]
    assert [(r.line, r.place) for r in rows] == [(5, 0), (18, 1)]
    assert parser.outside == {
        "result": "success",
        "data": {
            "headers": [
                {"title": "USER", "field": "user", "formatter": "html"},
                {"title": "ANSWER TIME", "field": "answer_time", "formatter": "html"},
            ],
            "meta": {"timezone": "America/New_York", "row_count": 2, "warnings": ["a [x] {y}"]},
            "next_cursor": "WzE3NDcxODQzNDgsMiwiZGVzYyJd",
        },
    }
    assert (parser.found_rows, parser.end_line, parser.label(1)) == (True, 30, "data.rows[1]")


def test_only_the_known_keys_are_kept_in_any_order() -> None:
    document = {
        "extra": {"rows": [{"not": "these"}], "deep": [[1, 2], {"x": None}]},
        "data": {"meta": {"n": 1}, "other": [True, False, -1.5e3], "rows": [ROW1]},
        "message": "ok",
        "result": "success",
        "code": 0,
    }
    parser, rows = parse(orjson.dumps(document), 5)
    assert [r.value for r in rows] == [ROW1]
    assert parser.outside == {
        "data": {"meta": {"n": 1}},
        "message": "ok",
        "result": "success",
        "code": 0,
    }
    bare, rows = parse(b' [\n{"a": 1} ,{"a": 2}]\n', 2)
    assert [(r.line, r.value) for r in rows] == [(2, {"a": 1}), (2, {"a": 2})]
    assert (bare.label(1), bare.outside) == ("rows[1]", {})
    assert not parse(b'{"result": "success", "data": []}', 4)[0].found_rows


@pytest.mark.parametrize(
    ("body", "line", "detail", "truncated"),
    [
        (b"", 1, "expected an agent_cdr API response (a JSON object) or an array", True),
        (b"\n\n  ", 3, "expected an agent_cdr API response (a JSON object) or an array", True),
        (b'\n"text"', 2, "expected an agent_cdr API response (a JSON object) or an array", False),
        (b'{"a" 1}', 1, "expected ':' after an object key", False),
        (b'{"a": 1,\n}', 2, "expected an object key", False),
        (b'{"a": 1 "b"}', 1, "expected ',' or '}' in an object", False),
        (b'{"a": [1 2]}', 1, "expected ',' or ']' in an array", False),
        (b'{"a": [1,]}', 1, "expected a JSON value", False),
        (b'{"a": tru}', 1, "expected a JSON value", False),
        (b'{"a": "\\x"}', 1, "expected a JSON value", False),
        (b'{"a": 12', 1, "expected ',' or '}' in an object", True),
        (b'{"a": tr', 1, "expected a JSON value", True),
        (b'{"a": "open', 1, "expected a JSON value", True),
        (b'{"data": {"rows": 5}}', 1, "expected an array at data.rows", False),
        (b'{"data": {"rows": [{"a": 1},\n{"b": [2]}]}}', 2, "expected a flat JSON object at data.rows[1]", False),
        (b'{"data": {"rows": [{"a": 1},]}}', 1, "expected a flat JSON object at data.rows[1]", False),
        (b'{"data": {"rows": [{"a": 1}\n\n', 3, "expected ',' or ']' after data.rows[0]", True),
        (b'[{"a": 1} {"a": 2}]', 1, "expected ',' or ']' after rows[0]", False),
        (b'{"data": {"rows": []}}\n x y', 2, "unexpected data after the end of the JSON document", False),
    ],
)  # fmt: skip
def test_errors_name_the_line_and_what_was_expected(
    body: bytes, line: int, detail: str, truncated: bool
) -> None:
    for size in (1, 5, len(body) or 1):
        error = failure(body, size)
        assert (error.line, error.detail, error.truncated, error.in_row) == (
            line,
            detail,
            truncated,
            False,
        )


def test_a_row_that_is_not_json_names_its_label() -> None:
    error = failure(b'[{"a": 1},\n {"a" 1}]')
    assert (error.line, error.in_row, error.truncated) == (2, True, False)
    assert error.detail.startswith("not valid JSON (rows[1]): ")


def test_rows_before_an_error_come_out_first() -> None:
    parser = RowsParser(bare_array=False, max_item_bytes=1 << 20)
    rows = parser.feed(b'{"data": {"rows": [{"a": 1}, {"a": 2}, {"a": [3]}]}}')
    assert [r.value for r in rows] == [{"a": 1}, {"a": 2}]
    for call in (lambda: parser.feed(b""), parser.close):
        with pytest.raises(JsonRowsError, match=r"data\.rows\[2\]"):
            call()


def test_a_row_or_value_over_the_limit_is_an_error_in_any_split() -> None:
    long_row = b'[{"a": "' + b"x" * 100 + b'"}]'
    for size in (1, 10, len(long_row)):
        assert failure(long_row, size, limit=64).detail == "rows[0] is longer than 64 bytes"
    assert parse(long_row, 10, limit=200)[1]
    long_meta = b'{"data": {"meta": {"a": "' + b"x" * 100 + b'"}, "rows": []}}'
    for size in (7, len(long_meta)):  # a piece of it waiting, or all of it kept
        assert failure(long_meta, size, limit=64).detail == "meta is longer than 64 bytes"
    skipped = b'{"unknown": "' + b"x" * 100 + b'", "data": {"rows": []}}'
    assert failure(skipped, 7, limit=64).detail == "a value is longer than 64 bytes"
    # The client's limit: a megabyte.
    with pytest.raises(MalformedResponse, match="longer than"):
        JsonParser().feed(b'{"data": {"rows": [{"a": "' + b"x" * (1 << 20) + b'"}]}}')


def test_memory_holds_a_chunk_and_a_row_not_the_report() -> None:
    row = orjson.dumps({**ROW1, "disposition": "x" * 2000})

    def document(rows: int) -> Iterator[bytes]:
        yield b'{"result": "success", "data": {"rows": ['
        for n in range(rows):
            yield (b"," if n else b"") + row
        yield b'], "next_cursor": null}}'

    def chunks(rows: int, size: int = 1 << 16) -> Iterator[bytes]:
        pending = b""
        for piece in document(rows):
            pending += piece
            while len(pending) >= size:
                yield pending[:size]
                pending = pending[size:]
        yield pending

    parser = RowsParser(bare_array=False, max_item_bytes=1 << 20)
    tracemalloc.start()
    try:
        count = sum(len(parser.feed(chunk)) for chunk in chunks(16_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    parser.close()
    assert count == 16_000
    assert 16_000 * len(row) > 30 << 20  # the report: over 30 MiB
    assert peak < 4 << 20, peak  # a chunk of 64 KiB, its rows, and the generator's pending
