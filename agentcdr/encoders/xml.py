"""XML in the GoAutoDial element tree, well-formed, streamed chunk by chunk.

f-strings with ``escape`` were measured ~10x faster than lxml's incremental writer.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Final
from xml.sax.saxutils import escape

from agentcdr.encoders.base import ReportRows, headers
from agentcdr.render import row_renderer

PROLOGUE: Final = '<?xml version="1.0" encoding="UTF-8"?>\n<goautodialapi version="1.0">\n'
# Characters XML 1.0 cannot carry at all; replaced rather than producing a broken document.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return escape(value)
    return str(value)


def element(name: str, value: Any) -> str:
    """One element; a mapping nests, a list repeats the element per item (GoAutoDial style)."""
    if isinstance(value, Mapping):
        return f"<{name}>" + "".join(element(k, v) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, list | tuple):
        return "".join(element(name, item) for item in value)
    return f"<{name}>{_text(value)}</{name}>"


def document(parts: Iterable[str]) -> bytes:
    return (PROLOGUE + "".join(parts) + "</goautodialapi>\n").encode()


def clean(text: str) -> str:
    return _INVALID.sub("\ufffd", text)


async def encode_xml(rows: ReportRows) -> AsyncIterator[bytes]:
    request = rows.request
    fields = request.fields
    render = row_renderer(fields, request.tz)
    tags = [(f"<{f}>", f"</{f}>") for f in fields]
    yield (PROLOGUE + "<action>agent_cdr</action>\n<result>success</result>\n<data>\n").encode()
    async for batch in rows.batches():
        out = []
        for row in batch:
            out.append("<rows>")
            for (open_tag, close_tag), value in zip(tags, render(row), strict=True):
                out.append(open_tag + _text(value) + close_tag)
            out.append("</rows>\n")
        yield clean("".join(out)).encode()
    tail = [element("headers", item) + "\n" for item in headers(fields)]
    tail.append(element("meta", rows.meta()) + "\n")
    if request.limit is not None:
        tail.append(element("next_cursor", rows.next_cursor) + "\n")
    yield (clean("".join(tail)) + "</data>\n</goautodialapi>\n").encode()
