"""CSV with a header row of field names (so a report loads again with ``agentcdr import``).

Cells are quoted only where they need it (RFC 4180; the rule is ``agentcdr.csvtext``, which
``agentcdr fetch`` and the demo's CSV write with too), lines end in CRLF.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from agentcdr.paging import Page
from agentcdr.records import ReportRequest
from agentcdr.render import compile_batch


async def encode_csv(request: ReportRequest, page: Page) -> AsyncIterator[bytes]:
    fields = request.fields
    render = compile_batch(fields, request.tz, "csv")
    yield (",".join(fields) + "\r\n").encode()
    async for batch in page.batches():
        yield render(batch).encode()
