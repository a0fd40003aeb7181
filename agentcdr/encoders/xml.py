"""XML in the GoAutoDial element tree, well-formed, streamed chunk by chunk.

f-strings were about 10x faster than lxml's incremental writer in the stack measurements
the project started from.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Final

from agentcdr.encoders.base import utf8
from agentcdr.paging import Page
from agentcdr.records import column_headers as headers
from agentcdr.render import RowStyle, compile_text
from agentcdr.xmltext import escape

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


_CONTROL_BYTES: Final = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_LEAD: Final = "\ufffe".encode()[:1]


def clean(text: str | bytes) -> bytes:
    """The text as UTF-8, with characters XML cannot carry replaced by U+FFFD.

    Such characters are rare, so the check runs on the bytes, where it is a C-speed
    ``translate``: control characters are single bytes in UTF-8, never part of a longer
    sequence, and U+FFFE/U+FFFF have fixed encodings, whose lead byte (that of U+F000 to
    U+FFFF) is looked for first: a byte's search is several times faster than a sequence's
    in text with many other multi-byte characters.
    """
    data = utf8(text)
    if len(data.translate(None, _CONTROL_BYTES)) == len(data) and (
        _LEAD not in data or (b"\xef\xbf\xbe" not in data and b"\xef\xbf\xbf" not in data)
    ):
        return data
    return _INVALID.sub("\ufffd", data.decode()).encode()


async def encode_xml(style: RowStyle, page: Page) -> AsyncIterator[bytes]:
    yield (PROLOGUE + "<action>agent_cdr</action>\n<result>success</result>\n<data>\n").encode()
    async for text in page.texts(compile_text(style)):
        yield clean(text)
    tail = [element("headers", item) + "\n" for item in headers(style.fields)]
    tail.append(element("meta", page.meta()) + "\n")
    if page.paged:
        tail.append(element("next_cursor", page.next_cursor) + "\n")
    yield clean("".join(tail) + "</data>\n</goautodialapi>\n")
