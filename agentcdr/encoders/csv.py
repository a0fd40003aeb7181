"""CSV with a header row of field names (so a report loads again with ``agentcdr import``)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from agentcdr.encoders.base import ReportRows
from agentcdr.render import row_renderer


async def encode_csv(rows: ReportRows) -> AsyncIterator[bytes]:
    fields = rows.request.fields
    render = row_renderer(fields, rows.request.tz)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(fields)
    yield buffer.getvalue().encode()
    async for batch in rows.batches():
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(map(render, batch))
        yield buffer.getvalue().encode()
