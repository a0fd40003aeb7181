"""Store rows -> the values of a report row, in the order of the chosen fields.

This is the per-row hot path of every report, so it avoids ``datetime`` objects: answer times
are rendered from epoch seconds through a cached UTC offset per stretch of time and
precomputed strings, and durations through a table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, Final
from zoneinfo import ZoneInfo

from agentcdr.records import COL, Row

_SECONDS_PER_DAY: Final = 86400
_EPOCH_ORDINAL: Final = datetime(1970, 1, 1).toordinal()
# "HH:MM:SS" for every second of a day, and for durations up to ten hours.
_CLOCK: Final = tuple(
    f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(_SECONDS_PER_DAY)
)
_DURATION_TABLE_MAX: Final = 36000


def format_duration(seconds: int | None) -> str:
    """``HH:MM:SS``, hours zero-padded to two digits and never wrapped (90007 -> 25:00:07)."""
    if seconds is None:
        return "00:00:00"
    if 0 <= seconds < _DURATION_TABLE_MAX:
        return _CLOCK[seconds]
    seconds = max(seconds, 0)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class LocalTimeFormatter:
    """Renders UTC epoch seconds as ``YYYY-MM-DD HH:MM:SS`` wall-clock time in a zone.

    The zone's UTC offset is looked up once per stretch of constant offset (found by probing
    the next and previous offset change within the hour), so a report spanning a DST change is
    correct and a report within one offset costs an add, a divmod and two lookups per row.
    """

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._lo = 1  # the cached offset is valid for lo <= ts < hi
        self._hi = 0
        self._offset = 0
        self._days: dict[int, str] = {}

    def _refresh(self, ts: int) -> None:
        offset = self._utcoffset(ts)
        # Offsets change on whole quarter hours at most once in a few months; widen the window
        # in 15-minute steps while the offset stays the same, up to a day each way.
        step = 900
        lo = ts - ts % step
        hi = lo + step
        while hi - ts < _SECONDS_PER_DAY and self._utcoffset(hi) == offset:
            hi += step
        while ts - lo < _SECONDS_PER_DAY and self._utcoffset(lo - 1) == offset:
            lo -= step
        self._lo, self._hi, self._offset = lo, hi, offset

    def _utcoffset(self, ts: int) -> int:
        delta = datetime.fromtimestamp(ts, UTC).astimezone(self.tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    def __call__(self, ts: int) -> str:
        if not self._lo <= ts < self._hi:
            self._refresh(ts)
        day, second = divmod(ts + self._offset, _SECONDS_PER_DAY)
        prefix = self._days.get(day)
        if prefix is None:
            date = datetime.fromordinal(day + _EPOCH_ORDINAL)
            prefix = self._days[day] = date.strftime("%Y-%m-%d ")
        return prefix + _CLOCK[second]


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


def day_after(ts: int) -> int:
    return ts + int(timedelta(days=1).total_seconds())


Getter = Callable[[Row], Any]


def _getter(field: str, tz: ZoneInfo) -> Getter:
    if field == "answer_time":
        fmt = LocalTimeFormatter(tz)
        index = COL["answer_ts"]
        return lambda row: fmt(row[index])
    if field == "call_duration":
        index = COL["call_duration_sec"]
        return lambda row: format_duration(row[index])
    return itemgetter(COL[field])


def row_renderer(fields: Sequence[str], tz: ZoneInfo) -> Callable[[Row], tuple[Any, ...]]:
    """A function turning a store row into the report values for ``fields``, in order."""
    getters = [_getter(f, tz) for f in fields]
    plain = all(isinstance(g, type(itemgetter(0))) for g in getters)
    if plain and len(fields) > 1:
        return itemgetter(*(COL[f] for f in fields))
    if len(getters) == 1:
        only = getters[0]
        return lambda row: (only(row),)
    return lambda row: tuple([g(row) for g in getters])
