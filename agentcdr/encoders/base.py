"""What every encoder sees: the report's rows in batches, trimmed to ``limit``, with the row
count and the next-page cursor known once the rows are done."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from agentcdr.params import describe, encode_cursor
from agentcdr.records import COL, ReportRequest, Row
from agentcdr.store.base import RowStream

_ID = COL["id"]
_TS = COL["answer_ts"]


class ReportRows:
    def __init__(self, request: ReportRequest, stream: RowStream | None) -> None:
        self.request = request
        self._stream = stream
        self._source = stream.__aiter__() if stream is not None else None
        self._buffered: list[Sequence[Row]] = []
        self.count = 0
        self.next_cursor: str | None = None

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
            held += len(batch)
        return False

    async def _batches_from_store(self) -> AsyncIterator[Sequence[Row]]:
        while self._buffered:
            yield self._buffered.pop(0)
        if self._source is not None:
            async for batch in self._source:
                yield batch

    async def batches(self) -> AsyncIterator[Sequence[Row]]:
        limit = self.request.limit
        last: Row | None = None
        try:
            async for batch in self._batches_from_store():
                room = len(batch) if limit is None else min(len(batch), limit - self.count)
                if room > 0:
                    kept = batch if room == len(batch) else batch[:room]
                    self.count += room
                    last = kept[-1]
                    yield kept
                if room < len(batch):
                    # The store gave a row past the limit (it fetches limit + 1): more remain.
                    if last is not None:
                        self.next_cursor = encode_cursor(last[_TS], last[_ID], self.request.order)
                    break
        finally:
            await self._close()

    async def _close(self) -> None:
        if self._stream is not None:
            stream, self._stream, self._source = self._stream, None, None
            await stream.aclose()

    def meta(self) -> dict[str, Any]:
        meta = describe(self.request)
        meta["row_count"] = self.count
        meta["warnings"] = list(self.request.warnings)
        return meta


def header_title(field: str) -> str:
    return field.upper().replace("_", " ")


def headers(fields: Sequence[str]) -> list[dict[str, str]]:
    return [{"title": header_title(f), "field": f, "formatter": "html"} for f in fields]
