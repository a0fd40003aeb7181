"""Store rows -> the values of a report row, in the order of the chosen fields.

This is the per-row hot path of every report, so it avoids ``datetime`` objects: answer times
are rendered from epoch seconds through a cached UTC offset per stretch of time and
precomputed strings, and durations through a table.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from agentcdr import csvtext
from agentcdr.records import ALL_FIELDS, COL, NUMERIC_FIELDS, Row

_SECONDS_PER_DAY: Final = 86400
_EPOCH_ORDINAL: Final = datetime(1970, 1, 1).toordinal()
# "HH:MM:SS" for every second of a day, and for durations up to ten hours.
CLOCK_TEXT: Final = tuple(
    f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(_SECONDS_PER_DAY)
)
_DURATION_TABLE_MAX: Final = 36000


def format_duration(seconds: int | None) -> str:
    """``HH:MM:SS``, hours zero-padded to two digits and never wrapped (90007 -> 25:00:07)."""
    if seconds is None:
        return "00:00:00"
    if 0 <= seconds < _DURATION_TABLE_MAX:
        return CLOCK_TEXT[seconds]
    seconds = max(seconds, 0)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class LocalTimeFormatter:
    """Renders UTC epoch seconds as ``YYYY-MM-DD HH:MM:SS`` wall-clock time in a zone.

    The zone's UTC offset is looked up once per stretch of constant offset, so a report
    within one offset costs an add, a divmod and two lookups per row. A stretch is found by
    probing a day each way; where the offset differs there, the change is found to the
    second by bisection. (No zone changes its offset twice within a day, so a day each way
    with the same offset means no change in between.)
    """

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._lo = 1  # the cached offset is valid for lo <= ts < hi
        self._hi = 0
        self._offset = 0
        self._days: dict[int, str] = {}

    def _refresh(self, ts: int) -> None:
        offset = self._utcoffset(ts)
        self._lo = self._edge(ts, ts - _SECONDS_PER_DAY, offset) + 1
        self._hi = self._edge(ts, ts + _SECONDS_PER_DAY, offset)
        self._offset = offset

    def _edge(self, inside: int, outside: int, offset: int) -> int:
        """Nearest second to ``inside`` towards ``outside`` with another offset, else
        ``outside`` itself (bisection keeps ``inside`` on this side of the change)."""
        if self._utcoffset(outside) == offset:
            return outside
        while abs(outside - inside) > 1:
            middle = (inside + outside) // 2
            if self._utcoffset(middle) == offset:
                inside = middle
            else:
                outside = middle
        return outside

    def _utcoffset(self, ts: int) -> int:
        delta = datetime.fromtimestamp(ts, UTC).astimezone(self.tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    def __call__(self, ts: int) -> str:
        if not self._lo <= ts < self._hi:
            self._refresh(ts)
        day, second = divmod(ts + self._offset, _SECONDS_PER_DAY)
        prefix = self._days.get(day)
        if prefix is None:
            if len(self._days) > 4096:  # the formatter is shared by cached row functions
                self._days.clear()
            date = datetime.fromordinal(day + _EPOCH_ORDINAL)
            prefix = self._days[day] = date.strftime("%Y-%m-%d ")
        return prefix + CLOCK_TEXT[second]


def to_local_text(ts: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M:%S")


def local_midnight(day_ordinal: int, tz: ZoneInfo) -> int:
    """UTC epoch seconds of 00:00 wall-clock time on a calendar day in a zone."""
    naive = datetime.fromordinal(day_ordinal)
    return int(naive.replace(tzinfo=tz).timestamp())


def parse_local(text: str, tz: ZoneInfo) -> int:
    """``YYYY-MM-DD HH:MM:SS`` wall-clock time in a zone -> UTC epoch seconds."""
    naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    return int(naive.replace(tzinfo=tz).timestamp())


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
    fields: tuple[str, ...], tz: ZoneInfo, kind: str, *, escape_text: bool = True
) -> RowFunction:
    """A function rendering one store row for ``fields`` as ``kind``.

    ``dict`` and ``tuple`` give Python values (for orjson and the client side); ``xml`` and
    ``csv`` give the row's finished text. The function's source is generated once per
    combination of fields, zone and kind (and cached: generating costs more than a small
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
        q = "q" if escape_text else ""
        cells = ",".join(f"{{{_wrap(f, e, q)}}}" for f, e in zip(fields, exprs, strict=True))
        body = f'f"{cells}\\r\\n"'
    else:
        raise ValueError(f"unknown row kind {kind!r}")
    namespace: dict[str, Any] = {
        "t": LocalTimeFormatter(tz),
        "d": format_duration,
        "x": escape,
        "q": csvtext.cell,
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


@functools.lru_cache(maxsize=256)
def compile_batch(fields: tuple[str, ...], tz: ZoneInfo, kind: str) -> BatchFunction:
    """A function rendering a batch of rows as finished ``xml`` or ``csv`` text.

    Values that need escaping are rare, and checking each one costs more than rendering it.
    So a batch is first rendered without escaping, and then checked as a whole: the markup
    of clean rows holds an exact number of ``<``, ``>`` (XML) or ``,``, quote and line-end
    characters (CSV); any other count means some value held one, and the batch is rendered
    again with escaping. The result is always the escaped rendering's text.
    """
    plain = compile_row(fields, tz, kind, escape_text=False)
    escaped = compile_row(fields, tz, kind)
    if kind == "xml":
        tags = 2 * len(fields) + 2

        def clean(text: str, rows: int) -> bool:
            return "&" not in text and text.count("<") == text.count(">") == rows * tags

    elif kind == "csv":
        cells = len(fields)

        def clean(text: str, rows: int) -> bool:
            return csvtext.plain(text, rows, cells)

    else:
        raise ValueError(f"no batch rendering for {kind!r}")

    def render(batch: Sequence[Row]) -> str:
        text = "".join([plain(r) for r in batch])
        return text if clean(text, len(batch)) else "".join([escaped(r) for r in batch])

    return render
