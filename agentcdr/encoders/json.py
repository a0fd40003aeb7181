"""JSON (the documented shape) and NDJSON, streamed chunk by chunk with orjson."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from agentcdr.encoders.base import ReportRows, headers
from agentcdr.render import row_renderer


async def encode_json(rows: ReportRows) -> AsyncIterator[bytes]:
    request = rows.request
    fields = request.fields
    render = row_renderer(fields, request.tz)
    yield b'{"result":"success","data":{"rows":['
    separator = b""
    async for batch in rows.batches():
        body = orjson.dumps([dict(zip(fields, render(r), strict=True)) for r in batch])
        yield separator + body[1:-1]
        separator = b","
    tail: dict[str, object] = {"headers": headers(fields), "meta": rows.meta()}
    if request.limit is not None:
        tail["next_cursor"] = rows.next_cursor
    yield b"]," + orjson.dumps(tail)[1:] + b"}"


async def encode_ndjson(rows: ReportRows) -> AsyncIterator[bytes]:
    fields = rows.request.fields
    render = row_renderer(fields, rows.request.tz)
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    async for batch in rows.batches():
        yield b"".join(
            [dumps(dict(zip(fields, render(r), strict=True)), option=newline) for r in batch]
        )
