"""CSV with a header row of field names (so a report loads again with ``agentcdr import``).

Cells are quoted only where they need it (RFC 4180; the rule is ``agentcdr.csvtext``, which
``agentcdr fetch`` and the demo's CSV write with too), lines end in CRLF.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from agentcdr.encoders.base import ReportRows
from agentcdr.render import compile_batch


async def encode_csv(rows: ReportRows) -> AsyncIterator[bytes]:
    fields = rows.request.fields
    render = compile_batch(fields, rows.request.tz, "csv")
    yield (",".join(fields) + "\r\n").encode()
    async for batch in rows.batches():
        yield render(batch).encode()
