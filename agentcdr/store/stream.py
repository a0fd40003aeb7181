"""The one stream of report rows every store returns: batches from a source, with the first
batch read before the response starts, and, for reads over a network, the next batch read
while the current one is encoded.

A store supplies a ``BatchSource`` (how to read the next batch, how to give the connection
back). Drivers without flow control (asyncmy reads a streamed result off the socket as fast
as the server sends it, whatever the encoder's pace) read through ``KeysetPages``: the
report as pages of ``PAGE_ROWS`` rows, each read whole and continued after the last row's
(answer time, id), as the API's own cursors are, so pages lose and repeat nothing.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Final, Protocol

from agentcdr.errors import DatabaseUnavailable
from agentcdr.records import COL, Cursor, ReportRequest, Row

TIME_LIMIT: Final = "The report query ran past the statement time limit"
UNREADABLE: Final = "The database cannot be read; try again later"
PAGE_ROWS: Final = 10_000


class BatchSource(Protocol):
    async def fetch(self, rows: int) -> Sequence[Row]:
        """The next batch of at most ``rows`` rows (fewer: the last one); raises
        ``DatabaseUnavailable`` when the database fails."""
        ...

    async def release(self, exhausted: bool) -> None:
        """Gives the connection back (or drops it, when rows are still unread)."""
        ...


class BatchStream:
    """A report's rows in batches of ``chunk_rows``. Iterate it once; ``aclose`` frees it
    (iterating to the end, or breaking out of the loop, does too).

    ``read_ahead`` reads the next batch while the current one is encoded and sent: otherwise
    a server database idles while the worker encodes, and the worker while it reads
    (docs/benchmarks.md, finding 3: about a tenth of a 30-day report on PostgreSQL). The
    embedded SQLite store reads on the event loop itself and gains nothing from it.
    """

    def __init__(
        self,
        source: BatchSource | None,
        chunk_rows: int,
        first: Sequence[Row] = (),
        *,
        deadline: float = math.inf,
        read_ahead: bool = False,
    ) -> None:
        self._source = source
        self._chunk_rows = chunk_rows
        self._first = first
        self._deadline = deadline
        self._read_ahead = read_ahead
        # A short first batch means the source is exhausted.
        self._done = source is None or len(first) < chunk_rows
        self._pending: asyncio.Future[Sequence[Row]] | None = None

    @classmethod
    async def open(
        cls,
        source: BatchSource,
        chunk_rows: int,
        *,
        deadline: float = math.inf,
        read_ahead: bool = False,
    ) -> BatchStream:
        """Reads the first batch now, so that a failing query fails before a response has
        started; the source is released when that fails."""
        try:
            first = await source.fetch(chunk_rows)
        except BaseException:
            await source.release(False)
            raise
        stream = cls(source, chunk_rows, first, deadline=deadline, read_ahead=read_ahead)
        if stream._done:
            await stream.aclose()  # all of it is in hand: the connection goes back at once
        return stream

    async def __aiter__(self) -> AsyncIterator[Sequence[Row]]:
        try:
            if not self._done and self._read_ahead:
                self._prefetch()
            if self._first:
                yield self._first
            while not self._done:
                if time.monotonic() > self._deadline:
                    raise DatabaseUnavailable(TIME_LIMIT)
                # Let other requests run between batches, also when a batch came from a
                # buffer without any wait for I/O.
                await asyncio.sleep(0)
                if self._pending is None:
                    self._prefetch()
                assert self._pending is not None
                batch = await self._pending
                self._pending = None
                self._done = len(batch) < self._chunk_rows
                if not self._done and self._read_ahead:
                    self._prefetch()
                if batch:
                    yield batch
        finally:
            await self.aclose()

    def _prefetch(self) -> None:
        assert self._source is not None
        self._pending = asyncio.ensure_future(self._source.fetch(self._chunk_rows))

    async def aclose(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            if pending.done() and not pending.cancelled() and pending.exception() is None:
                # The read ahead had finished: a short batch was the last one (a page that
                # stopped at its limit), and the connection is as good as after a full read.
                self._done = len(pending.result()) < self._chunk_rows
            else:
                # Stopped early (a client gone, an error): the read in flight is abandoned
                # before the connection is given back, never left running on it.
                pending.cancel()
                await asyncio.wait([pending])  # without raising the abandoned read's error
                if not pending.cancelled():
                    pending.exception()  # retrieved: not an unhandled error
                self._done = False
        if self._source is not None:
            source, self._source = self._source, None
            await source.release(self._done)


def empty_stream() -> BatchStream:
    """The stream of a report that cannot have rows (no query is run)."""
    return BatchStream(None, 1)


class KeysetPages:
    """A report read page by page (see the module docstring); a ``BatchSource`` but for
    ``release``, which the store adds.

    ``read_page(request)`` runs the report query for ``request`` (its cursor and limit set
    for the page) and returns all of its rows.
    """

    def __init__(
        self,
        read_page: Callable[[ReportRequest], Awaitable[list[Row]]],
        request: ReportRequest,
        page_rows: int | None = None,
    ) -> None:
        self._read_page = read_page
        self._request = request
        self._page_rows = page_rows or PAGE_ROWS
        self._buffer: list[Row] = []
        self._last: Row | None = None
        self._pages_done = False
        # With a limit the report needs limit + 1 rows (the extra one says "more remain").
        self._wanted = None if request.limit is None else request.limit + 1
        self._read = 0

    async def _page(self) -> list[Row]:
        size = self._page_rows
        if self._wanted is not None:
            size = min(size, self._wanted - self._read)
        if size <= 0:
            self._pages_done = True
            return []
        request = replace(self._request, limit=size - 1)  # the query asks for limit + 1
        if self._last is not None:
            last = self._last
            request = replace(request, cursor=Cursor(last[COL["answer_ts"]], last[COL["id"]]))
        rows = await self._read_page(request)
        self._read += len(rows)
        self._pages_done = len(rows) < size
        if rows:
            self._last = rows[-1]
        return rows

    async def fetch(self, rows: int) -> Sequence[Row]:
        while len(self._buffer) < rows and not self._pages_done:
            self._buffer.extend(await self._page())
        batch, self._buffer = self._buffer[:rows], self._buffer[rows:]
        return batch
