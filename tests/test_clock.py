"""``ZoneClock`` against the standard library (zoneinfo and datetime), in both directions,
second by second around every offset change of several zones, and the documented rule for
repeated and skipped wall times (PEP 495 ``fold=0``)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agentcdr.clock import ZoneClock

STAMP = "%Y-%m-%d %H:%M:%S"
NAIVE_EPOCH = datetime(1970, 1, 1)
# Zones with one-hour DST (New York, London), 30-minute DST (Lord Howe), war-time changes
# only (Kolkata, 1941-45), rules that changed (São Paulo: DST at midnight until 2019, then
# none), and no change at all (UTC).
ZONES = {
    "America/New_York": 150,  # at least this many changes from 1940 to 2030
    "Europe/London": 150,
    "Australia/Lord_Howe": 90,
    "Asia/Kolkata": 4,
    "America/Sao_Paulo": 60,
    "UTC": 0,
}
FIRST, LAST = (int(datetime(year, 1, 1, tzinfo=UTC).timestamp()) for year in (1940, 2031))
MARGIN = 60  # seconds checked each side of a change, and of a skipped or repeated hour


def offset_at(ts: int, tz: ZoneInfo) -> int:
    delta = datetime.fromtimestamp(ts, tz).utcoffset()
    assert delta is not None
    return int(delta.total_seconds())


def changes(tz: ZoneInfo) -> list[tuple[int, int, int]]:
    """``(instant, offset before, offset after)`` of every offset change from 1940 to 2030,
    found with the standard library alone: a probe every six hours, then bisection."""
    found = []
    step = 6 * 3600
    before = offset_at(FIRST, tz)
    for ts in range(FIRST + step, LAST, step):
        after = offset_at(ts, tz)
        if after != before:
            lo, hi = ts - step, ts  # offset_at(lo) == before != offset_at(hi)
            while hi - lo > 1:
                middle = (lo + hi) // 2
                lo, hi = (middle, hi) if offset_at(middle, tz) == before else (lo, middle)
            found.append((hi, before, after))
            before = after
    return found


def text_of(ts: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(tz).strftime(STAMP)


def instant_of_wall(local: int, tz: ZoneInfo) -> int:
    return int((NAIVE_EPOCH + timedelta(seconds=local)).replace(tzinfo=tz).timestamp())


def check_instant(clock: ZoneClock, ts: int) -> None:
    tz = clock.tz
    moment = datetime.fromtimestamp(ts, tz)
    assert clock.text(ts) == moment.strftime(STAMP), ts
    assert clock.offset(ts) == moment.utcoffset() // timedelta(seconds=1), ts
    assert clock.naive(ts) == moment.replace(tzinfo=None), ts
    assert clock.day(ts) == moment.date(), ts


def check_wall(clock: ZoneClock, local: int) -> None:
    tz = clock.tz
    expected = instant_of_wall(local, tz)
    assert clock.from_local(local) == expected, local
    text = (NAIVE_EPOCH + timedelta(seconds=local)).strftime(STAMP)
    assert clock.from_text(text) == expected, text


@pytest.mark.parametrize("zone", ZONES)
def test_both_directions_match_the_stdlib_around_every_change(zone: str) -> None:
    tz = ZoneInfo(zone)
    found = changes(tz)
    assert len(found) >= ZONES[zone]
    for at, before, after in found:
        instants = range(at - MARGIN, at + MARGIN)
        # The wall times that the change skips or repeats: every second near either end of
        # them, and a minute's steps between (where nothing changes).
        first, last = at + min(before, after), at + max(before, after)
        walls = [
            *range(first - MARGIN, first + MARGIN),
            *range(first + MARGIN, last - MARGIN, 60),
            *range(max(first + MARGIN, last - MARGIN), last + MARGIN),
        ]
        # A fresh clock each way: its stretches are found coming from before the change,
        # and coming from after it.
        for order in (list, reversed):
            clock = ZoneClock(tz)
            for ts in order(instants):
                check_instant(clock, ts)
            clock = ZoneClock(tz)
            for local in order(walls):
                check_wall(clock, local)


@pytest.mark.parametrize("zone", ZONES)
def test_jumping_between_changes_matches_the_stdlib(zone: str) -> None:
    # One clock, shuffled instants and wall times near and far from the changes, so that
    # every conversion may have to leave the stretch the one before it left cached.
    tz = ZoneInfo(zone)
    rnd = random.Random(zone)
    points = [at + rnd.randint(-7200, 7200) for at, _, _ in changes(tz)]
    points += [rnd.randint(FIRST, LAST) for _ in range(2000)]
    rnd.shuffle(points)
    clock = ZoneClock(tz)
    for point in points:
        check_instant(clock, point)
        check_wall(clock, point)


@pytest.mark.parametrize(
    "zone",
    [
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "UTC",
        "America/St_Johns",
        "Pacific/Chatham",
    ],
)
def test_local_time_matches_the_stdlib_across_offset_changes(zone: str) -> None:
    tz = ZoneInfo(zone)
    fmt = ZoneClock(tz).text
    rnd = random.Random(zone)
    # Random instants over three years, in order and shuffled, and every second around the
    # 2025 changes of New York (where most zones are near a change of their own, too).
    stamps = sorted(rnd.randint(1_700_000_000, 1_800_000_000) for _ in range(3000))
    stamps += rnd.sample(stamps, len(stamps))
    stamps += list(range(1741589000, 1741590000)) + list(range(1762149000, 1762150000))
    for ts in stamps:
        assert fmt(ts) == text_of(ts, tz), ts


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Europe/London", "America/Santiago", "Asia/Beirut",
             "Australia/Lord_Howe", "America/Havana", "UTC"],
)  # fmt: skip
def test_wallclock_cache_matches_exact_conversion(zone: str) -> None:
    # Whole years of every 20 minutes, including zones whose changes fall at midnight
    # (Santiago, Beirut, Havana) or move by 30 minutes (Lord Howe).
    tz = ZoneInfo(zone)
    clock = ZoneClock(tz)
    start = datetime(2024, 1, 1)
    for step in range(0, 2 * 366 * 72):
        wall = start + timedelta(minutes=20 * step, seconds=step % 60)
        text = wall.strftime("%Y-%m-%d %H:%M:%S")
        assert clock.from_text(text) == int(wall.replace(tzinfo=tz).timestamp()), text


def test_repeated_and_skipped_wall_times_follow_fold_0() -> None:
    clock = ZoneClock(ZoneInfo("America/New_York"))
    utc = ZoneClock(ZoneInfo("UTC"))
    # Repeated (2025-11-02, 01:00-02:00 twice): the first occurrence, EDT.
    assert utc.text(clock.from_text("2025-11-02 01:30:00")) == "2025-11-02 05:30:00"
    # Skipped (2025-03-09, 02:00-03:00 never shown): the offset before the change, EST, so
    # the instant is the one shown as 03:30.
    skipped = clock.from_text("2025-03-09 02:30:00")
    assert utc.text(skipped) == "2025-03-09 07:30:00"
    assert clock.text(skipped) == "2025-03-09 03:30:00"
    # For the wall times that exist, local -> UTC never goes backwards, through both changes
    # (the skipped hour does: 02:59:59 is read as 07:59:59 UTC, 03:00:00 is 07:00:00 UTC).
    for day in ("2025-03-09", "2025-11-02"):
        midnight = clock.local_seconds(clock.instant(date.fromisoformat(day)))
        walls = range(midnight, midnight + 86400)
        instants = [clock.from_local(local) for local in walls]
        existing = [
            ts
            for ts, local in zip(instants, walls, strict=True)
            if clock.local_seconds(ts) == local
        ]
        assert existing == sorted(existing)
        assert len(existing) == 86400 - (3600 if day == "2025-03-09" else 0)
    # A day's midnight by the same rule: São Paulo's clocks went from 00:00 to 01:00 on
    # 2018-11-04, so that day began at 03:00 UTC (the offset before, -03:00).
    sao_paulo = ZoneClock(ZoneInfo("America/Sao_Paulo"))
    assert utc.text(sao_paulo.instant(date(2018, 11, 4))) == "2018-11-04 03:00:00"
    assert sao_paulo.text(sao_paulo.instant(date(2018, 11, 4))) == "2018-11-04 01:00:00"


@pytest.mark.parametrize(
    "text",
    ["2025-02-30 10:00:00", "2025-05-13 24:00:00", "2025-05-13T10:00:00", "2025-5-13 10:00:00",
     "2025-05-13 10:00", "2025-05-13 10:00:00 ", "٢٠٢٥-05-13 10:00:00", ""],
)  # fmt: skip
def test_text_of_another_shape_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="not a YYYY-MM-DD HH:MM:SS time"):
        ZoneClock(ZoneInfo("America/New_York")).from_text(text)


def test_the_calendar_ends_convert() -> None:
    # Probes near the ends of datetime's calendar are kept inside it.
    for zone in ("Asia/Kolkata", "America/New_York", "Pacific/Kiritimati"):
        clock = ZoneClock(ZoneInfo(zone))
        for text in ("0001-01-02 00:00:00", "9999-12-30 23:59:59"):
            assert clock.from_text(text) == instant_of_wall(
                (datetime.strptime(text, STAMP) - NAIVE_EPOCH) // timedelta(seconds=1),
                clock.tz,
            )
