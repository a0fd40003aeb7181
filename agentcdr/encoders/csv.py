"""CSV with a header row of field names (so a report loads again with ``agentcdr import``).

Cells are quoted only where they need it (RFC 4180; the rule is ``agentcdr.csvtext``, which
``agentcdr fetch`` and the demo's CSV write with too), lines end in CRLF. With
``neutralize`` (the request's ``csvFormulas=neutralize``), text cells that a spreadsheet
would take for a formula get a leading ``'``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from agentcdr.paging import Page
from agentcdr.records import ReportRequest
from agentcdr.render import compile_batch


async def encode_csv(
    request: ReportRequest, page: Page, *, neutralize: bool = False
) -> AsyncIterator[bytes]:
    fields = request.fields
    render = compile_batch(fields, request.tz, "csv", neutralize=neutralize)
    yield (",".join(fields) + "\r\n").encode()
    async for batch in page.batches():
        yield render(batch).encode()
