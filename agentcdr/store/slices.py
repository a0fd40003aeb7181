"""A rendered report read as a head and then slices of its range in parallel, written in
order: one report can use more than one core (the database's, or SQLite's own in threads).

The head is the report's first ``head_rows`` rows, read at once like any report: a small
report is that one read. Past it, the rest of the range is cut by answer time into slices of
about ``SLICE_BYTES`` of text each (``slice_rows``, at the head's length of a row). The row
count of a stretch of time is not known in advance, so the cut adapts: each slice's length
in seconds comes from the rows per second of the part read last (the head's, at first).
Every slice is read with a row limit (twice its aim): a slice that reaches it ends at its
last row, whose key the reader returns, and the rest of its stretch is cut again at the rate
just learnt, continued after that key as the API's cursors continue a page; so a denser
stretch than expected costs more reads, never more memory. Slices are read by up to
``parallel`` readers at a time and handed on strictly in report order; a slice read ahead
waits, whole, for its turn, so a report holds at most ``parallel + 1`` slices of at most
twice ``SLICE_BYTES``.

Fairness: every slice read takes one of the process's ``slots`` (as many as cores) first,
in order of asking, so concurrent reports share the cores instead of each taking all of
them; the head takes none, so a small report never waits behind a big one.

Consistency: each part is read in its own transaction, so a call written while a report
runs appears in it or not depending on its part; a call that existed throughout appears
exactly once (parts are disjoint ranges of (answer time, id)).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Final, NamedTuple, TypeVar

from agentcdr.records import Cursor, ReportRequest
from agentcdr.render import TextBatch

# The text a slice aims at: a slice is held in a few copies on its way (the database's, the
# driver's, the encoder's), by up to three slices at once, within the server's memory target.
SLICE_BYTES: Final = 500_000
CORES: Final = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def slice_rows(head: TextBatch) -> int:
    """The rows a slice aims at: ``SLICE_BYTES`` of text, at the head's length of a row."""
    return max(100, SLICE_BYTES * head.rows // max(len(head.text), 1))


class Piece(NamedTuple):
    """A part of the report, rendered: its text and, when the part ended at its row limit,
    its last row's key."""

    batch: TextBatch
    last: Cursor | None = None


# Reads one part of the report: a request narrowed to the part, whose ``limit + 1`` (the
# rows a report query asks for, ``report_query.report_query``) is the part's row limit.
PartReader = Callable[[ReportRequest], Awaitable[Piece]]


def part_limit(part: ReportRequest) -> int:
    """The row limit a part is read with; a reader that gets this many rows returns the
    last one's key."""
    assert part.limit is not None
    return part.limit + 1


T = TypeVar("T")
# The shortest stretch ``time_parts`` cuts: less is not worth a thread.
MIN_PART_SECONDS: Final = 3600


def time_parts(request: ReportRequest, count: int) -> list[ReportRequest]:
    """The request's range cut into ``count`` stretches of equal time, in order (fewer, down
    to one, when the range is shorter than ``count`` hours)."""
    span = request.end_ts - request.start_ts
    count = max(1, min(count, span // MIN_PART_SECONDS))
    edges = [request.start_ts + span * i // count for i in range(count + 1)]
    return [replace(request, start_ts=a, end_ts=b) for a, b in itertools.pairwise(edges)]


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def slots() -> asyncio.Semaphore:
    """The running event loop's slice slots (one per core)."""
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        slot = _slots[loop] = asyncio.Semaphore(max(1, CORES))
    return slot


class _Plan:
    """Where the next slices start and end (see the module docstring)."""

    def __init__(self, request: ReportRequest, head: TextBatch, last: Cursor) -> None:
        self._request = request
        self._aim = slice_rows(head)
        self._desc = request.order == "desc"
        # The time still to read, past the head's last row: [start, edge) newest first,
        # or [edge, end); the first slice continues after that row.
        self._edge = last.answer_ts + 1 if self._desc else last.answer_ts
        self._after: Cursor | None = last
        self._rate = 0.0
        self.observe(request, head.rows, last)

    def observe(self, part: ReportRequest, rows: int, last: Cursor | None) -> None:
        """A part held ``rows`` rows (and, ``last`` given, more after that row)."""
        if last is None:
            seconds = part.end_ts - part.start_ts
        elif self._desc:
            seconds = part.end_ts - last.answer_ts
        else:
            seconds = last.answer_ts - part.start_ts + 1
        self._rate = rows / max(seconds, 1) if rows else self._rate / 2

    def _span(self) -> int:
        if self._rate <= 0:
            return self._request.end_ts - self._request.start_ts
        return max(1, int(self._aim / self._rate))

    def next(self) -> ReportRequest | None:
        """The next slice; None when the range is read."""
        start, end = self._request.start_ts, self._request.end_ts
        if (self._edge <= start) if self._desc else (self._edge >= end):
            return None
        span = self._span()
        if self._desc:
            lo, hi = max(start, self._edge - span), self._edge
            self._edge = lo
        else:
            lo, hi = self._edge, min(end, self._edge + span)
            self._edge = hi
        part = replace(
            self._request, start_ts=lo, end_ts=hi, cursor=self._after, limit=2 * self._aim - 1
        )
        self._after = None
        return part

    def rest(self, part: ReportRequest, last: Cursor) -> list[ReportRequest]:
        """What is left of a part that ended at its row limit with the row ``last``, cut
        into slices at the rate just learnt, in report order."""
        span, parts = self._span(), []
        lo, hi = part.start_ts, part.end_ts
        if self._desc:
            hi = last.answer_ts + 1
            while hi > lo:
                parts.append(replace(part, start_ts=max(lo, hi - span), end_ts=hi, cursor=None))
                hi -= span
        else:
            lo = last.answer_ts
            while lo < hi:
                parts.append(replace(part, start_ts=lo, end_ts=min(hi, lo + span), cursor=None))
                lo += span
        parts[0] = replace(parts[0], cursor=last)
        return parts


class _Entry:
    """A slice in report order, and its read once started."""

    __slots__ = ("part", "task")

    def __init__(self, part: ReportRequest) -> None:
        self.part = part
        self.task: asyncio.Future[Piece] | None = None


async def _in_slot(read: Callable[[ReportRequest], Awaitable[T]], part: ReportRequest) -> T:
    async with slots():
        return await read(part)


async def read_parts(
    request: ReportRequest, count: int, read: Callable[[ReportRequest], Awaitable[T]]
) -> list[T]:
    """``read`` of each of the range's ``time_parts``, all at once, each in a slot (shared
    with the reports' slices): for statements whose results add up, such as a summary's."""
    return list(await asyncio.gather(*(_in_slot(read, p) for p in time_parts(request, count))))


class SliceStream:
    """A rendered report read as a head and slices (a ``TextStream``): ``open`` reads the
    head; iterating yields it and then the slices in order; ``aclose`` abandons the reads
    in flight."""

    def __init__(
        self, request: ReportRequest, read: PartReader, head: Piece, parallel: int
    ) -> None:
        self._request = request
        self._read = read
        self._head: Piece | None = head
        self._parallel = max(1, parallel)
        self._entries: deque[_Entry] = deque()

    @classmethod
    async def open(
        cls,
        request: ReportRequest,
        read: PartReader,
        head_rows: int,
        *,
        head: PartReader | None = None,
        parallel: int = CORES,
    ) -> SliceStream:
        """``head`` reads the head when it needs another way than the slices (SQLite reads
        it on the event loop)."""
        first = await (head or read)(replace(request, limit=head_rows - 1))
        return cls(request, read, first, parallel)

    async def __aiter__(self) -> AsyncIterator[TextBatch]:
        try:
            head, self._head = self._head, None
            if head is None:
                return
            if head.batch.rows:
                yield head.batch
            if head.last is None:
                return
            plan = _Plan(self._request, head.batch, head.last)
            while True:
                self._fill(plan)
                if not self._entries:
                    return
                entry = self._entries.popleft()
                assert entry.task is not None
                piece = await entry.task
                plan.observe(entry.part, piece.batch.rows, piece.last)
                if piece.last is not None:  # the rest of its stretch comes before the next
                    rest = plan.rest(entry.part, piece.last)
                    self._entries.extendleft(_Entry(part) for part in reversed(rest))
                self._fill(plan)  # the next reads start before this slice is written
                if piece.batch.rows:
                    yield piece.batch
        finally:
            await self.aclose()

    def _fill(self, plan: _Plan) -> None:
        """Starts the first ``parallel`` slices in order, planning more where needed."""
        started = 0
        for entry in self._entries:
            if started == self._parallel:
                return
            if entry.task is None:
                entry.task = asyncio.ensure_future(_in_slot(self._read, entry.part))
            started += 1
        while started < self._parallel:
            part = plan.next()
            if part is None:
                return
            entry = _Entry(part)
            entry.task = asyncio.ensure_future(_in_slot(self._read, part))
            self._entries.append(entry)
            started += 1

    async def aclose(self) -> None:
        self._head = None
        pending = [entry.task for entry in self._entries if entry.task is not None]
        self._entries.clear()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            for task in pending:
                if not task.cancelled():
                    task.exception()  # retrieved: an abandoned read's error is not reported
