"""JSON (the documented shape) and NDJSON, streamed chunk by chunk with orjson.

U+2028 and U+2029 (line and paragraph separator) are written as ``\\u2028`` and ``\\u2029``,
as PHP's ``json_encode`` does: raw, they are valid JSON but end a line for
``str.splitlines()`` (which breaks NDJSON apart) and for JavaScript before ES2019.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

import orjson

from agentcdr.encoders.base import utf8
from agentcdr.paging import Page
from agentcdr.records import column_headers as headers
from agentcdr.render import RowStyle, compile_text

# In UTF-8 these byte sequences are those two characters and nothing else, and orjson writes
# them only inside strings, where the escape means the same character.
_SEPARATORS: Final = (("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))
# Their lead byte, shared with every character of U+2000-U+2FFF.
_LEAD: Final = "\u2028".encode()[:1]


def escape_separators(data: bytes) -> bytes:
    """orjson's output with U+2028 and U+2029 escaped: one search for their lead byte when
    there are none (a byte's search is a ``memchr``, many times faster than a sequence's),
    and a scan for each of them otherwise."""
    if _LEAD not in data:
        return data
    for raw, escaped in _SEPARATORS:
        data = data.replace(raw, escaped)
    return data


def dumps(value: object, option: int = 0) -> bytes:
    return escape_separators(orjson.dumps(value, option=option))


async def encode_json(style: RowStyle, page: Page) -> AsyncIterator[bytes]:
    yield b'{"result":"success","data":{"rows":['
    first = True
    async for text in page.texts(compile_text(style)):
        if not first:
            yield b","  # apart: joined, the batch would be copied once more
        first = False
        yield escape_separators(utf8(text))
    tail: dict[str, object] = {"headers": headers(style.fields), "meta": page.meta()}
    if page.paged:
        tail["next_cursor"] = page.next_cursor
    yield b"]," + dumps(tail)[1:] + b"}"


async def encode_ndjson(style: RowStyle, page: Page) -> AsyncIterator[bytes]:
    async for text in page.texts(compile_text(style)):
        yield escape_separators(utf8(text))
