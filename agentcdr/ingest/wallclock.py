"""Wall-clock text in a zone -> UTC epoch seconds, fast and exact around DST changes.

Parsing every answer time with ``datetime`` costs more than the rest of a row's import, so
the common case is two dictionary look-ups: the UTC epoch of the date's local midnight
(cached per date string) plus the seconds of ``HH:MM:SS`` (a table of all 86,400 of them).
That sum is only right on days whose UTC offset does not change, so days with an offset
change (DST, or a zone changing its rules) are marked and take the exact conversion.

Rule for times that a DST change makes ambiguous or impossible (PEP 495 ``fold=0``, the
same rule as ``agentcdr.render.parse_local``): a repeated wall time (autumn) means its first
occurrence; a skipped wall time (spring) is read with the offset in force before the change,
so ``02:30`` on a spring-forward day in New York is the instant shown as ``03:30``.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo

from agentcdr.render import CLOCK_TEXT, local_midnight

_DAY: Final = 86400
# Marks a date whose offset changes during the day: the sum of midnight and seconds is wrong.
_IRREGULAR: Final = -(2**62)


@cache
def clock_seconds() -> dict[str, int]:
    """``"HH:MM:SS"`` -> seconds since midnight, for every second of a day (the inverse of
    the table the reports render times with)."""
    return {text: second for second, text in enumerate(CLOCK_TEXT)}


def _date_of(text: str) -> date:
    """A strict ``YYYY-MM-DD`` (``date.fromisoformat`` also takes other ISO shapes)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(text)
    year, month, day = text[:4], text[5:7], text[8:]
    if not (year + month + day).isdigit() or not (year + month + day).isascii():
        raise ValueError(text)
    return date(int(year), int(month), int(day))


class WallClock:
    """Converts ``YYYY-MM-DD HH:MM:SS`` in one zone to UTC epoch seconds.

    ``epoch`` raises ``ValueError`` for text of another shape or an impossible date or time.
    """

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._seconds = clock_seconds()
        self._midnights: dict[str, int] = {}

    def epoch(self, text: str) -> int:
        seconds = self._seconds.get(text[11:])
        if seconds is None or len(text) != 19 or text[10] != " ":
            raise ValueError(text)
        midnight = self._midnights.get(text[:10])
        if midnight is None:
            midnight = self._midnight(text[:10])
        if midnight == _IRREGULAR:
            return self._exact(text[:10], seconds)
        return midnight + seconds

    def _midnight(self, day_text: str) -> int:
        ordinal = _date_of(day_text).toordinal()
        try:
            start = local_midnight(ordinal, self.tz)
            end = local_midnight(ordinal + 1, self.tz)
        except (OverflowError, OSError) as exc:
            raise ValueError(day_text) from exc
        # A day keeps one offset when it is 24 hours long and the offset at its first and its
        # last second agree (a change and a change back within one day does not happen).
        regular = end - start == _DAY and self._offset(start) == self._offset(end - 1)
        midnight = start if regular else _IRREGULAR
        self._midnights[day_text] = midnight
        return midnight

    def _offset(self, ts: int) -> int:
        offset = datetime.fromtimestamp(ts, self.tz).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def _exact(self, day_text: str, seconds: int) -> int:
        day = _date_of(day_text)
        hour, rest = divmod(seconds, 3600)
        minute, second = divmod(rest, 60)
        wall = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=self.tz)
        return int(wall.timestamp())
