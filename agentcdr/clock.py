"""The one converter between UTC epoch seconds and a zone's wall clock: ``ZoneClock``.

Every conversion between an instant and the report zone's (or the dialer's) wall clock goes
through it: rendering answer times (UTC -> ``YYYY-MM-DD HH:MM:SS``), import (that text ->
UTC), the request's dates (the instant of a day's local midnight, today's date, the texts of
``meta``), demo data, and the VICIdial adapter (naive local DATETIMEs <-> UTC).

**The rule for wall times that a change of offset repeats or skips** is PEP 495's
``fold=0``, the standard library's default, in every direction and for every caller:

- a repeated wall time (clocks go back) means its first occurrence: ``01:30`` on 2025-11-02
  in New York is 05:30 UTC (EDT), not 06:30 UTC (EST);
- a skipped wall time (clocks go forward) is read with the offset in force before the
  change: ``02:30`` on 2025-03-09 in New York is 07:30 UTC, the instant shown as ``03:30``.

With this rule local -> UTC never goes backwards for the wall times that exist (only the
skipped ones, which no clock shows, do), so ordering by wall time orders by instant (the
VICIdial adapter relies on it: it sorts on the dialer's local DATETIME).

**Speed.** These conversions run once per row of reports and imports, where ``datetime``
objects would cost more than the rest of the row. A zone's UTC offset is constant over long
stretches, both as a function of the instant and as a function of the wall time, so a clock
keeps one stretch per direction: an interval with one offset, found by asking the standard
library at the point and a day each way and, where the offset differs there, bisecting to
the second. (The closest two offset changes of any zone in the tz database are four days
apart, so the same offset a day each way means no change in between.) Inside its stretch a
conversion is an addition; text comes from a table of the 86,400 clock texts of a day and the
date texts cached per day, and text -> UTC from the instant of each date's midnight, cached
per date string, plus the seconds of the time of day (days with an offset change take the
exact path). The answers are the standard library's, to the second (``tests/test_clock.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentcdr.errors import shown

_DAY: Final = 86400
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_NAIVE_EPOCH: Final = datetime(1970, 1, 1)
# Probes are kept inside the calendar datetime can represent (with room for any offset), so
# the first and last days still convert, with the offsets in force there.
_FIRST: Final = (datetime.min - _NAIVE_EPOCH) // timedelta(seconds=1) + 2 * _DAY
_LAST: Final = (datetime.max - _NAIVE_EPOCH) // timedelta(seconds=1) - 2 * _DAY
# The instants a request may name (a cursor's time): the calendar's, without its first and
# last days, so that every such instant has a wall-clock text in every zone.
FIRST_INSTANT: Final = _FIRST
LAST_INSTANT: Final = _LAST
# Marks a date whose offset changes during the day: its midnight plus seconds is wrong.
_IRREGULAR: Final = -(2**62)
_CACHE_MAX: Final = 4096  # date texts and date strings' midnights kept, each

# "HH:MM:SS" for every second of a day (also the table of durations under 24 hours).
CLOCK_TEXT: Final = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(_DAY))

# (lo, hi, offset): for lo <= x < hi the offset is ``offset`` seconds east of UTC.
Stretch = tuple[int, int, int]
_EMPTY: Final[Stretch] = (1, 0, 0)


# The longest IANA zone name is 32 characters; anything much longer is not one, and is not
# handed to the file system (which answers a name over 255 bytes with an OSError).
_ZONE_NAME_MAX: Final = 64


def zone(name: str) -> ZoneInfo:
    """The zone of an IANA name; ``ValueError`` naming it (cut short) when there is no such
    zone. A folder of the database (``America``, ``Etc``) is no zone either."""
    if len(name) > _ZONE_NAME_MAX:
        raise ValueError(f"unknown time zone {shown(name)}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {shown(name)}") from exc


@cache
def clock_seconds() -> dict[str, int]:
    """``"HH:MM:SS"`` -> seconds since midnight, for every second of a day (the inverse of
    ``CLOCK_TEXT``)."""
    return {text: second for second, text in enumerate(CLOCK_TEXT)}


def _date_of(text: str) -> date:
    """A strict ``YYYY-MM-DD`` (``date.fromisoformat`` also takes other ISO shapes)."""
    digits = text[:4] + text[5:7] + text[8:]
    if len(text) == 10 and text[4] == text[7] == "-" and digits.isdigit() and digits.isascii():
        try:
            return date(int(text[:4]), int(text[5:7]), int(text[8:]))
        except ValueError:
            pass
    raise ValueError(f"not a YYYY-MM-DD HH:MM:SS time: {text!r}")


def _stretch(x: int, offset_at: Callable[[int], int]) -> Stretch:
    offset = offset_at(x)
    lo = _edge(x, x - _DAY, offset, offset_at) + 1
    hi = _edge(x, x + _DAY, offset, offset_at)
    return lo, hi, offset


def _edge(inside: int, outside: int, offset: int, offset_at: Callable[[int], int]) -> int:
    """The nearest second to ``inside`` towards ``outside`` with another offset, else
    ``outside`` itself (bisection keeps ``inside`` on this side of the change)."""
    if offset_at(outside) == offset:
        return outside
    while abs(outside - inside) > 1:
        middle = (inside + outside) // 2
        if offset_at(middle) == offset:
            inside = middle
        else:
            outside = middle
    return outside


class ZoneClock:
    """Converts between UTC epoch seconds and the wall clock of one zone (rule: ``fold=0``).

    "Local seconds" are a wall time as seconds since the naive ``1970-01-01 00:00:00``: what
    MariaDB's ``TO_SECONDS`` gives for a DATETIME, less ``TO_SECONDS`` of that epoch.

    A clock holds caches, so a caller keeps one for as long as it converts in that zone. It
    may be shared between threads (the report's row functions are, by the slices read in
    threads): each direction's stretch is one tuple, read and replaced whole.
    """

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        # The stretch of each direction.
        self._utc: Stretch = _EMPTY
        self._local: Stretch = _EMPTY
        self._day_texts: dict[int, str] = {}
        self._midnights: dict[str, int] = {}
        self._seconds = clock_seconds()

    # -- the standard library's answers, which the stretches cache -------------------------
    def _offset_at(self, ts: int) -> int:
        """The offset in force at the instant ``ts``."""
        moment = datetime.fromtimestamp(min(max(ts, _FIRST), _LAST), self.tz)
        delta = moment.utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    def _offset_of(self, local: int) -> int:
        """The offset of the wall time ``local`` read with ``fold=0``."""
        wall = _NAIVE_EPOCH + timedelta(seconds=min(max(local, _FIRST), _LAST))
        delta = wall.replace(tzinfo=self.tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    def utc_stretch(self, ts: int) -> Stretch:
        """``(lo, hi, offset)`` around the instant ``ts``: for ``lo <= t < hi`` the wall time
        of ``t`` is ``t + offset``."""
        stretch = self._utc
        if not stretch[0] <= ts < stretch[1]:
            stretch = self._utc = _stretch(ts, self._offset_at)
        return stretch

    def local_stretch(self, local: int) -> Stretch:
        """``(lo, hi, offset)`` around the local seconds ``local``: for ``lo <= x < hi`` the
        instant of the wall time ``x`` is ``x - offset``. For loops that keep it in local
        variables (the VICIdial adapter's row conversion): cheaper than a call per row."""
        stretch = self._local
        if not stretch[0] <= local < stretch[1]:
            stretch = self._local = _stretch(local, self._offset_of)
        return stretch

    # -- UTC -> wall clock ------------------------------------------------------------------
    def offset(self, ts: int) -> int:
        """Seconds east of UTC in force at the instant ``ts``."""
        lo, hi, offset = self._utc
        if not lo <= ts < hi:
            offset = self.utc_stretch(ts)[2]
        return offset

    def text(self, ts: int) -> str:
        """``YYYY-MM-DD HH:MM:SS`` on the wall clock at the instant ``ts`` (per report row)."""
        lo, hi, offset = self._utc
        if not lo <= ts < hi:
            offset = self.utc_stretch(ts)[2]
        day, second = divmod(ts + offset, _DAY)
        prefix = self._day_texts.get(day)
        if prefix is None:
            if len(self._day_texts) > _CACHE_MAX:
                self._day_texts = {}
            # Not strftime: its %Y writes the year 1 as "1" on glibc.
            d = date.fromordinal(day + _EPOCH_ORDINAL)
            prefix = f"{d.year:04d}-{d.month:02d}-{d.day:02d} "
            self._day_texts[day] = prefix
        return prefix + CLOCK_TEXT[second]

    def local_seconds(self, ts: int) -> int:
        return ts + self.offset(ts)

    def naive(self, ts: int) -> datetime:
        """The wall time at the instant ``ts`` as a naive ``datetime`` (a DATETIME value)."""
        return _NAIVE_EPOCH + timedelta(seconds=self.local_seconds(ts))

    def day(self, ts: int) -> date:
        """The calendar day on the wall clock at the instant ``ts``."""
        return date.fromordinal(self.local_seconds(ts) // _DAY + _EPOCH_ORDINAL)

    # -- wall clock -> UTC ------------------------------------------------------------------
    def from_local(self, local: int) -> int:
        """The instant of the wall time ``local`` (local seconds), by the ``fold=0`` rule."""
        lo, hi, offset = self._local
        if not lo <= local < hi:
            offset = self.local_stretch(local)[2]
        return local - offset

    def instant(self, day: date, second: int = 0) -> int:
        """The instant of the wall time ``second`` seconds after 00:00 on ``day`` (by default
        the day's midnight), by the ``fold=0`` rule."""
        return self.from_local((day.toordinal() - _EPOCH_ORDINAL) * _DAY + second)

    def from_text(self, text: str) -> int:
        """``YYYY-MM-DD HH:MM:SS`` on the wall clock -> its instant (per imported row).

        Raises ``ValueError`` for text of another shape or an impossible date or time.
        """
        seconds = self._seconds.get(text[11:])
        if seconds is None or len(text) != 19 or text[10] != " ":
            raise ValueError(f"not a YYYY-MM-DD HH:MM:SS time: {text!r}")
        midnight = self._midnights.get(text[:10])
        if midnight is None:
            midnight = self._midnight_of(text[:10])
        if midnight == _IRREGULAR:
            return self.from_local(
                (_date_of(text[:10]).toordinal() - _EPOCH_ORDINAL) * _DAY + seconds
            )
        return midnight + seconds

    def _midnight_of(self, day_text: str) -> int:
        """The instant of the date's midnight, or ``_IRREGULAR`` when the offset changes
        during that day (then midnight plus seconds is not the instant)."""
        local = (_date_of(day_text).toordinal() - _EPOCH_ORDINAL) * _DAY
        _, hi, offset = self.local_stretch(local)
        midnight = local - offset if local + _DAY <= hi else _IRREGULAR
        if len(self._midnights) > _CACHE_MAX:
            self._midnights = {}
        self._midnights[day_text] = midnight
        return midnight


@functools.lru_cache(maxsize=64)
def loop_clock(tz: ZoneInfo) -> ZoneClock:
    """One clock per zone for the conversions of every request (its dates and ``meta``), so
    that its stretches stay cached from one request to the next. Only for code on the event
    loop's thread (shared by the requests of the loop)."""
    return ZoneClock(tz)
