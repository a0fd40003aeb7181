"""A rendered report read as a head and then slices of its range in parallel, written in
order: one report can use more than one core (the database's, or SQLite's own in threads).

The head is the report's first ``head_rows`` rows, read at once like any report: a small
report is that one read. Past it, the rest of the range is cut by answer time into slices of
about ``SLICE_ROWS`` rows each. The row count of a stretch of time is not known in advance,
so the cut adapts: each slice's length in seconds comes from the rows per second of the
slice read last (the head's, at first). Slices are read by up to ``parallel`` readers at a
time and handed on strictly in report order; a slice read ahead waits, whole, for its turn,
so a report holds at most ``parallel + 1`` slices in memory.

Fairness: every slice read takes one of the process's ``slots`` (as many as cores) first,
in order of asking, so concurrent reports share the cores instead of each taking all of
them; the head takes none, so a small report never waits behind a big one.

Consistency: each slice is read in its own statement (and, on the server stores, its own
transaction), so a call written while a report runs appears in it or not depending on its
slice; a call that existed throughout appears exactly once (slices are disjoint ranges of
answer time, continued after the head's last row by its key as the API's cursors are).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Final, NamedTuple

from agentcdr.records import Cursor, ReportRequest
from agentcdr.store.base import TextBatch

SLICE_ROWS: Final = 10_000  # rows a slice aims at
CORES: Final = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


class Piece(NamedTuple):
    """A part of the report, rendered: its text and, for the head, its last row's key."""

    batch: TextBatch
    last: Cursor | None = None


# Reads one part of the report (a request narrowed to it): the head (``limit`` set: the
# reader returns the last row's key) or a slice.
PartReader = Callable[[ReportRequest], Awaitable[Piece]]

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def slots() -> asyncio.Semaphore:
    """The running event loop's slice slots (one per core)."""
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        slot = _slots[loop] = asyncio.Semaphore(CORES)
    return slot


class _Plan:
    """Where the next slice starts and ends (see the module docstring)."""

    def __init__(self, request: ReportRequest, head: Piece) -> None:
        assert head.last is not None
        self._request = request
        self._desc = request.order == "desc"
        self._after: Cursor | None = head.last  # the first slice continues after the head
        edge = head.last.answer_ts
        # The time still to read: [start, edge] (newest first) or [edge, end).
        self._edge = edge + 1 if self._desc else edge
        covered = request.end_ts - self._edge if self._desc else self._edge - request.start_ts
        self._rate = head.batch.rows / max(covered, 1)

    def observe(self, rows: int, seconds: int) -> None:
        """A slice of ``seconds`` held ``rows`` rows."""
        self._rate = rows / seconds if rows else self._rate / 2

    def next(self) -> tuple[ReportRequest, int] | None:
        """The next slice and its length in seconds; None when the range is read."""
        start, end = self._request.start_ts, self._request.end_ts
        if (self._edge <= start) if self._desc else (self._edge >= end):
            return None
        span = max(1, int(SLICE_ROWS / self._rate)) if self._rate > 0 else end - start
        if self._desc:
            lo, hi = max(start, self._edge - span), self._edge
            self._edge = lo
        else:
            lo, hi = self._edge, min(end, self._edge + span)
            self._edge = hi
        part = replace(self._request, start_ts=lo, end_ts=hi, cursor=self._after, limit=None)
        self._after = None
        return part, hi - lo


async def _in_slot(read: PartReader, part: ReportRequest) -> Piece:
    async with slots():
        return await read(part)


class SliceStream:
    """A rendered report read as a head and slices (a ``TextStream``): ``open`` reads the
    head; iterating yields it and then the slices in order; ``aclose`` abandons the reads
    in flight."""

    def __init__(
        self, request: ReportRequest, read: PartReader, head: Piece, head_rows: int, parallel: int
    ) -> None:
        self._request = request
        self._read = read
        self._head: Piece | None = head
        self._more = head.batch.rows >= head_rows and head.last is not None
        self._parallel = max(1, parallel)
        self._pending: deque[tuple[asyncio.Future[Piece], int]] = deque()

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
        first = await (head or read)(replace(request, limit=head_rows - 1))  # LIMIT head_rows
        return cls(request, read, first, head_rows, parallel)

    async def __aiter__(self) -> AsyncIterator[TextBatch]:
        try:
            head, self._head = self._head, None
            if head is None:
                return
            if head.batch.rows:
                yield head.batch
            if not self._more:
                return
            plan = _Plan(self._request, head)
            while True:
                self._fill(plan)
                if not self._pending:
                    return
                task, seconds = self._pending.popleft()
                piece = await task
                plan.observe(piece.batch.rows, seconds)
                self._fill(plan)  # the next reads start before this slice is written
                if piece.batch.rows:
                    yield piece.batch
        finally:
            await self.aclose()

    def _fill(self, plan: _Plan) -> None:
        while len(self._pending) < self._parallel:
            part = plan.next()
            if part is None:
                return
            request, seconds = part
            self._pending.append((asyncio.ensure_future(_in_slot(self._read, request)), seconds))

    async def aclose(self) -> None:
        self._head = None
        pending = [task for task, _ in self._pending]
        self._pending.clear()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            for task in pending:
                if not task.cancelled():
                    task.exception()  # retrieved: an abandoned read's error is not reported
