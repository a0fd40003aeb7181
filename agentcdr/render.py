"""Store rows -> the values of a report row, in the order of the chosen fields; and a batch
of rows -> its text in a response body (``RowStyle``, ``compile_text``).

This is the per-row hot path of every report the database does not render itself, so it
avoids ``datetime`` objects: answer times are rendered by the zone's ``ZoneClock``
(``agentcdr.clock``: a cached offset per stretch of time and precomputed texts), and
durations through a table. These renderers are also the reference that rows rendered by the
database are checked against (``tests/test_rendered.py``) and fall back to
(``agentcdr.store.sql.rendered``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

import orjson

from agentcdr import csvtext, xmltext
from agentcdr.clock import CLOCK_TEXT, ZoneClock
from agentcdr.records import ALL_FIELDS, COL, NUMERIC_FIELDS, Row

# What a JSON string cannot hold unescaped: a quote, a backslash, a control character.
_JSON_MARKS: Final = b'"\\' + bytes(range(0x20))
# Durations up to ten hours come from the table of clock texts.
_DURATION_TABLE_MAX: Final = 36000


def format_duration(seconds: int | None) -> str:
    """``HH:MM:SS``, hours zero-padded to two digits and never wrapped (90007 -> 25:00:07)."""
    if seconds is None:
        return "00:00:00"
    if 0 <= seconds < _DURATION_TABLE_MAX:
        return CLOCK_TEXT[seconds]
    seconds = max(seconds, 0)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


RowFunction = Callable[[Row], Any]


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _expression(field: str) -> str:
    if field == "answer_time":
        return f"t(r[{COL['answer_ts']}])"
    if field == "call_duration":
        return f"d(r[{COL['call_duration_sec']}])"
    return f"r[{COL[field]}]"


@functools.lru_cache(maxsize=256)
def compile_row(
    fields: tuple[str, ...],
    tz: ZoneInfo,
    kind: str,
    *,
    escape_text: bool = True,
    neutralize: bool = False,
) -> RowFunction:
    """A function rendering one store row for ``fields`` as ``kind``.

    ``dict`` and ``tuple`` give Python values (for orjson and the client side); ``xml`` and
    ``csv`` give the row's finished text; ``neutralize`` (csv) also keeps text cells from
    reading as spreadsheet formulas (``csvtext.neutral``). The function's source is generated
    once per combination of fields, zone and kind (and cached: generating costs more than a small
    report's rows), because a generated dict display or f-string does one call per row where
    per-field getters do one per value; field names come from the fixed ``ALL_FIELDS`` list
    only.
    """
    unknown = [f for f in fields if f not in ALL_FIELDS]
    if unknown:
        raise ValueError(f"unknown fields: {unknown}")
    exprs = [_expression(f) for f in fields]
    if kind == "dict":
        body = "{" + ", ".join(f"{f!r}: {e}" for f, e in zip(fields, exprs, strict=True)) + "}"
    elif kind == "tuple":
        body = "(" + "".join(f"{e}, " for e in exprs) + ")"
    elif kind == "xml":
        x = "x" if escape_text else ""
        parts = [f"<{f}>{{{_wrap(f, e, x)}}}</{f}>" for f, e in zip(fields, exprs, strict=True)]
        body = 'f"<rows>' + "".join(parts) + '</rows>\\n"'
    elif kind == "csv":
        q = ("s" if neutralize else "q") if escape_text else ""
        cells = ",".join(f"{{{_wrap(f, e, q)}}}" for f, e in zip(fields, exprs, strict=True))
        body = f'f"{cells}\\r\\n"'
    else:
        raise ValueError(f"unknown row kind {kind!r}")
    namespace: dict[str, Any] = {
        "t": ZoneClock(tz).text,
        "d": format_duration,
        "x": xmltext.escape,
        "q": csvtext.cell,
        "s": csvtext.safe_cell,
        "n": _number,
    }
    exec(f"def row(r):\n    return {body}\n", namespace)  # noqa: S102 - source built from constants
    return namespace["row"]  # type: ignore[no-any-return]


def _wrap(field: str, expr: str, text_function: str) -> str:
    """The f-string expression of one cell: text escaped, numbers printed, None empty."""
    if field in NUMERIC_FIELDS:
        return f"n({expr})"
    if field in ("answer_time", "call_duration"):
        return expr  # digits, dashes and colons only
    return f"{text_function}({expr})" if text_function else expr


BatchFunction = Callable[[Sequence[Row]], str]
TextCheck = Callable[[str, int], bool]


@functools.lru_cache(maxsize=256)
def plain_check(fields: tuple[str, ...], kind: str, *, neutralize: bool = False) -> TextCheck:
    """A check of ``rows`` rows of ``json``, ``ndjson``, ``xml`` or ``csv`` text rendered
    without escaping: True when no value needed escaping, so the text is exactly the escaped
    rendering.

    The markup of clean rows holds an exact number of ``<``, ``>`` (XML), of ``,``, quote
    and line-end characters (CSV), or of quotes and line ends and no backslash or other
    control character (JSON, whose strings orjson escapes for those alone), and no ``&`` or
    carriage return (XML), nor a cell that starts like a formula (CSV with
    ``neutralize``). Checking the text as a whole is a few C-speed scans, where checking
    each value costs more than rendering it.
    """
    if kind in ("json", "ndjson"):
        # Two quotes around each key, two around each value but numbers; ndjson's line ends.
        marks = sum(2 if f in NUMERIC_FIELDS else 4 for f in fields) + int(kind == "ndjson")

        def unquoted(text: str, rows: int) -> bool:
            # (Drivers decode valid UTF-8 only, and a Latin-1 view of bytes has no surrogate.)
            data = text.encode()
            return len(data) - len(data.translate(None, _JSON_MARKS)) == rows * marks

        return unquoted
    if kind == "xml":
        tags = 2 * len(fields) + 2

        def clean(text: str, rows: int) -> bool:
            return (
                "&" not in text
                and "\r" not in text
                and text.count("<") == text.count(">") == rows * tags
            )

        return clean
    if kind == "csv":
        cells = len(fields)

        def plain(text: str, rows: int) -> bool:
            return csvtext.plain(text, rows, cells) and not (
                neutralize and csvtext.formula_cell(text)
            )

        return plain
    raise ValueError(f"no plain check for {kind!r}")


@functools.lru_cache(maxsize=256)
def compile_batch(
    fields: tuple[str, ...], tz: ZoneInfo, kind: str, *, neutralize: bool = False
) -> BatchFunction:
    """A function rendering a batch of rows as finished ``xml`` or ``csv`` text.

    Values that need escaping are rare, and checking each one costs more than rendering it.
    So a batch is first rendered without escaping and checked as a whole (``plain_check``);
    otherwise some value needs escaping, and the batch is rendered again with escaping. The
    result is always the escaped rendering's text.
    """
    clean = plain_check(fields, kind, neutralize=neutralize)
    plain = compile_row(fields, tz, kind, escape_text=False)
    escaped = compile_row(fields, tz, kind, neutralize=neutralize)

    def render(batch: Sequence[Row]) -> str:
        text = "".join([plain(r) for r in batch])
        return text if clean(text, len(batch)) else "".join([escaped(r) for r in batch])

    return render


# The kinds of row text a response body is made of, and what stands between two rows.
SEPARATORS: Final = {"json": ",", "ndjson": "\n", "csv": "\r\n", "xml": "\n"}
TEXT_KINDS: Final = tuple(SEPARATORS)


@dataclass(frozen=True)
class RowStyle:
    """What a report's rows are rendered as in a response body: ``kind`` (``TEXT_KINDS``),
    the fields in order, the report zone, and for CSV ``neutralize`` (``csvtext.neutral``).

    A batch of rows in a style is one text: JSON rows joined by commas (the encoder writes
    the brackets around them), the other kinds' rows each ending in their line end (``end``).
    JSON's U+2028/U+2029 and the characters XML cannot carry are left to the encoder, which
    treats every batch alike whoever rendered it.
    """

    kind: str
    fields: tuple[str, ...]
    tz: ZoneInfo
    neutralize: bool = False

    @property
    def separator(self) -> str:
        """What stands between two rows' texts in a batch (and, but for JSON, after the last)."""
        return SEPARATORS[self.kind]

    def join(self, rows: Sequence[str]) -> str:
        """The batch of rows' texts (each without its line end)."""
        if not rows:
            return ""
        text = self.separator.join(rows)
        return text if self.kind == "json" else text + self.separator


TextFunction = Callable[[Sequence[Row]], str | bytes]


@dataclass(frozen=True, slots=True)
class TextBatch:
    """Rows rendered by the database: ``rows`` rows as one finished text in a ``RowStyle``
    (``RowStyle.join``; str, or UTF-8 bytes)."""

    text: str | bytes
    rows: int


@functools.lru_cache(maxsize=256)
def compile_text(style: RowStyle) -> TextFunction:
    """The reference rendering of a batch of store rows in ``style`` (str, or UTF-8 bytes
    where orjson writes it)."""
    if style.kind in ("csv", "xml"):
        return compile_batch(style.fields, style.tz, style.kind, neutralize=style.neutralize)
    row = compile_row(style.fields, style.tz, "dict")
    if style.kind == "json":
        return lambda batch: orjson.dumps([row(r) for r in batch])[1:-1]
    if style.kind == "ndjson":
        line, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        return lambda batch: b"".join([line(row(r), option=newline) for r in batch])
    raise ValueError(f"unknown row kind {style.kind!r}")
