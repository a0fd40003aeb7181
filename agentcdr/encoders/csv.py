"""CSV with a header row of field names (so a report loads again with ``agentcdr import``).

Cells are quoted only where they need it (RFC 4180; the rule is ``agentcdr.csvtext``, which
``agentcdr fetch`` and the demo's CSV write with too), lines end in CRLF. With
``neutralize`` (the request's ``csvFormulas=neutralize``, in the ``RowStyle``), text cells
that a spreadsheet would take for a formula get a leading ``'``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from agentcdr.encoders.base import utf8
from agentcdr.paging import Page
from agentcdr.render import RowStyle, compile_text


async def encode_csv(style: RowStyle, page: Page) -> AsyncIterator[bytes]:
    yield (",".join(style.fields) + "\r\n").encode()
    async for text in page.texts(compile_text(style)):
        yield utf8(text)
