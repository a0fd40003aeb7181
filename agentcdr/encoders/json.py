"""JSON (the documented shape) and NDJSON, streamed chunk by chunk with orjson."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from agentcdr.encoders.base import headers
from agentcdr.paging import Page
from agentcdr.records import ReportRequest
from agentcdr.render import compile_row


async def encode_json(request: ReportRequest, page: Page) -> AsyncIterator[bytes]:
    row = compile_row(request.fields, request.tz, "dict")
    yield b'{"result":"success","data":{"rows":['
    separator = b""
    async for batch in page.batches():
        yield separator + orjson.dumps([row(r) for r in batch])[1:-1]
        separator = b","
    tail: dict[str, object] = {"headers": headers(request.fields), "meta": page.meta()}
    if page.paged:
        tail["next_cursor"] = page.next_cursor
    yield b"]," + orjson.dumps(tail)[1:] + b"}"


async def encode_ndjson(request: ReportRequest, page: Page) -> AsyncIterator[bytes]:
    row = compile_row(request.fields, request.tz, "dict")
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    async for batch in page.batches():
        yield b"".join([dumps(row(r), option=newline) for r in batch])
