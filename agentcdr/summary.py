"""Summaries of the agent_cdr report (``goAction=agent_cdr_summary``): plain data, no I/O.

A summary groups the calls of a report request by one or two keys and gives, per group, the
number of calls and their total, average and longest duration. The database does the
grouping (every store turns the request into one GROUP BY over the same filters as the
report, so the counts agree exactly with the report's rows); this module holds what the
stores share: the keys, the row type, the time-zone stretches that ``day`` and ``hour`` are
computed with, and the last step (labels, merging, order).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final
from zoneinfo import ZoneInfo

from agentcdr.clock import ZoneClock

# What a summary may be grouped by; ``day`` and ``hour`` (of the day, 0-23) are in the
# report zone.
GROUP_KEYS: Final = (
    "user",
    "disposition",
    "call_type",
    "term_reason",
    "portfolio",
    "campaign_name",
    "profile",
    "day",
    "hour",
)
TIME_KEYS: Final = frozenset({"day", "hour"})
MAX_GROUP_KEYS: Final = 2
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One group: its keys (in ``group_by`` order; a day as ``YYYY-MM-DD``, an hour as
    0-23) and its calls."""

    keys: tuple[Any, ...]
    calls: int
    total_sec: int
    max_sec: int

    @property
    def avg_sec(self) -> int:
        """The mean duration in whole seconds, rounded half up."""
        return (2 * self.total_sec + self.calls) // (2 * self.calls) if self.calls else 0


Stretches = tuple[tuple[int, int], ...]


@functools.lru_cache(maxsize=1024)
def offset_stretches(tz: ZoneInfo, start_ts: int, end_ts: int) -> Stretches:
    """``(from_ts, utc_offset)`` for each stretch of constant UTC offset in
    ``[start_ts, end_ts)``, in order; the first starts at ``start_ts``.

    A zone changes its offset at most a few times a year, so a year's range has a handful
    of stretches: the stores add the right offset to each call's instant with a short CASE
    instead of converting every row. Cached: reports of the same days ask again and again.
    """
    clock = ZoneClock(tz)
    stretches: list[tuple[int, int]] = []
    ts = start_ts
    while ts < end_ts:
        _, until, offset = clock.utc_stretch(ts)
        if not stretches or stretches[-1][1] != offset:
            stretches.append((ts, offset))
        ts = until
    return tuple(stretches) or ((start_ts, clock.offset(start_ts)),)


def offset_case(instant: str, stretches: Sequence[tuple[int, int]]) -> str:
    """SQL of the UTC offset at ``instant`` (an SQL expression of epoch seconds), given the
    stretches of ``offset_stretches``. Integers from the zone's rules only (``int()`` makes
    sure), written into the text: typed alike on every database, as bound parameters in a
    CASE are not."""
    if len(stretches) == 1:
        return str(int(stretches[0][1]))
    cases = "".join(
        f"WHEN {instant} < {int(until)} THEN {int(offset)} "
        for (_, offset), (until, _) in itertools.pairwise(stretches)
    )
    return f"CASE {cases}ELSE {int(stretches[-1][1])} END"


def day_label(day_number: int) -> str:
    """A local day counted from 1970-01-01 as ``YYYY-MM-DD``."""
    return date.fromordinal(_EPOCH_ORDINAL + int(day_number)).isoformat()


def finish(
    groups: Iterable[tuple[Sequence[Any], int, int, int]], group_by: Sequence[str]
) -> list[SummaryRow]:
    """The store's groups ``(keys, calls, total_sec, max_sec)`` as summary rows: days
    labelled, groups whose keys came out equal merged (the VICIdial adapter derives
    portfolio and profile from its campaigns after grouping), ordered by calls descending,
    then by the keys."""
    merged: dict[tuple[Any, ...], list[int]] = {}
    days = [i for i, key in enumerate(group_by) if key == "day"]
    for raw_keys, calls, total, longest in groups:
        keys = list(raw_keys)
        for i in days:
            keys[i] = day_label(keys[i])
        for i, key in enumerate(group_by):
            if key == "hour":
                keys[i] = int(keys[i])
            elif keys[i] is None:
                keys[i] = ""
        entry = merged.setdefault(tuple(keys), [0, 0, 0])
        entry[0] += int(calls)
        entry[1] += int(total or 0)
        entry[2] = max(entry[2], int(longest or 0))
    rows = [SummaryRow(k, calls, total, longest) for k, (calls, total, longest) in merged.items()]
    rows.sort(key=_order)
    return rows


def _order(row: SummaryRow) -> tuple[Any, ...]:
    return (-row.calls, *(f"{k:02d}" if isinstance(k, int) else str(k) for k in row.keys))


def totals(rows: Iterable[SummaryRow]) -> dict[str, int]:
    """``meta``'s totals of a summary."""
    calls = total = 0
    for row in rows:
        calls += row.calls
        total += row.total_sec
    return {"calls": calls, "total_sec": total}
