"""Paging: the cursor codec, and the page of rows that the encoders read.

A cursor is the keyset of the last row a page served: its answer time (UTC epoch seconds),
its store id and the order it was made for, as JSON in unpadded base64url. It is opaque to
clients but not secret, and stable under inserts: the next page starts strictly after that
row in (answer time, id) order, whatever was added meanwhile.

A ``Page`` is the store's row stream trimmed to the request's ``limit`` (or the store's
rendered rows, ``TextBatch``es, for whole reports only: ``store.sql.rendered.renders``).
Stores fetch ``limit + 1`` rows: the extra row, when it comes, is never served, and says
that more rows remain, so the page ends with a ``next_cursor`` made from its last served
row. What the page serves is known once its rows were read: ``meta()`` is final then.

The API composes the pieces: ``params`` builds the request (decoding its cursor here) and
describes it (``params.describe``, the ``meta`` of the request); the store opens the stream;
the page trims it and completes the meta; an encoder turns the page into bytes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Final

import orjson

from agentcdr.clock import FIRST_INSTANT, LAST_INSTANT
from agentcdr.errors import InvalidValue
from agentcdr.records import COL, Cursor, ReportRequest, Row
from agentcdr.render import TextBatch, TextFunction

if TYPE_CHECKING:
    from agentcdr.store.base import RowStream, TextStream

NOT_A_CURSOR: Final = "not a cursor returned by this report"
_ID = COL["id"]
_TS = COL["answer_ts"]
_ID_CHARS: Final = 64  # the longest text id of a store (VICIdial's uniqueid is 20)


def _valid_id(value: object) -> bool:
    if type(value) is int:
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and len(value) <= _ID_CHARS and "\x00" not in value


Batch = Sequence[Row] | TextBatch


def encode_cursor(answer_ts: int, row_id: int | str, order: str) -> str:
    token = orjson.dumps([answer_ts, row_id, order])
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def decode_cursor(value: str, order: str) -> Cursor:
    """The cursor of a ``next_cursor`` token. Whatever else a client sends is ``41004``: a
    time outside the calendar, an id outside the 64-bit integers the databases bind, or a
    text id longer than any store's (the stores' ids: integers in agentcdr's own, text in
    the VICIdial adapter's, which ``store.sql.report_query`` tells apart)."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidValue("cursor", NOT_A_CURSOR) from None
    if (
        not isinstance(data, list)
        or len(data) != 3
        or type(data[0]) is not int
        or not FIRST_INSTANT <= data[0] <= LAST_INSTANT
        or not _valid_id(data[1])
        or data[2] not in ("asc", "desc")
    ):
        raise InvalidValue("cursor", NOT_A_CURSOR)
    if data[2] != order:
        raise InvalidValue("cursor", f"the cursor belongs to order={data[2]}")
    return Cursor(answer_ts=data[0], id=data[1])


class Page:
    """The rows of one report response, in batches, trimmed to ``limit``.

    ``meta`` is the request's description (``params.describe``); ``meta()`` returns it with
    the page's ``row_count``, final once ``batches()`` has been read to its end.
    """

    def __init__(
        self,
        request: ReportRequest,
        stream: RowStream | TextStream | None,
        meta: dict[str, Any],
    ) -> None:
        self.limit = request.limit
        self.order = request.order
        self.count = 0
        self.next_cursor: str | None = None
        self._meta = meta
        self._stream = stream
        self._source: AsyncIterator[Batch] | None = (
            stream.__aiter__() if stream is not None else None
        )
        self._buffered: list[Batch] = []

    @property
    def paged(self) -> bool:
        """Whether the request asked for a page (then the response carries ``next_cursor``,
        ``null`` on the last page)."""
        return self.limit is not None

    def meta(self) -> dict[str, Any]:
        return {**self._meta, "row_count": self.count}

    async def read_ahead(self, max_rows: int) -> bool:
        """Buffer batches while they hold fewer than ``max_rows`` rows in all; True when that
        was the whole report (then it can be answered in one piece instead of a stream)."""
        if self._source is None:
            return True
        held = 0
        while held < max_rows:
            try:
                batch = await anext(self._source)
            except StopAsyncIteration:
                await self._close()
                return True
            self._buffered.append(batch)
            held += batch.rows if isinstance(batch, TextBatch) else len(batch)
        return False

    async def _batches_from_store(self) -> AsyncIterator[Batch]:
        while self._buffered:
            yield self._buffered.pop(0)
        if self._source is not None:
            async for batch in self._source:
                yield batch

    async def batches(self) -> AsyncIterator[Batch]:
        limit = self.limit
        last: Row | None = None
        try:
            async for batch in self._batches_from_store():
                if isinstance(batch, TextBatch):
                    self.count += batch.rows  # rendered rows come only for whole reports
                    yield batch
                    continue
                room = len(batch) if limit is None else min(len(batch), limit - self.count)
                if room > 0:
                    kept = batch if room == len(batch) else batch[:room]
                    self.count += room
                    last = kept[-1]
                    yield kept
                if room < len(batch):
                    # The store gave a row past the limit (it fetches limit + 1): more remain.
                    if last is not None:
                        self.next_cursor = encode_cursor(last[_TS], last[_ID], self.order)
                    break
        finally:
            await self._close()

    async def aclose(self) -> None:
        """Frees the store's stream, wherever the page's reading stopped."""
        await self._close()

    async def rows(self) -> AsyncIterator[Sequence[Row]]:
        """The batches of rows, for a page of a store's rows (``report``, never rendered)."""
        async for batch in self.batches():
            if isinstance(batch, TextBatch):
                raise TypeError("a page of rendered rows has no rows to give")
            yield batch

    async def texts(self, render: TextFunction) -> AsyncIterator[str | bytes]:
        """The batches as text: the store's rendered text, or rows rendered by ``render``
        (``render.compile_text`` of the response's style)."""
        async for batch in self.batches():
            yield batch.text if isinstance(batch, TextBatch) else render(batch)

    async def _close(self) -> None:
        if self._stream is not None:
            stream, self._stream, self._source = self._stream, None, None
            await stream.aclose()
