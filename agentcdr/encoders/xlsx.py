"""The report as an Excel workbook (``responsetype=xlsx``), written by XlsxWriter in constant
memory: one sheet, a header row of the column titles, then the rows as ``agent_cdr``
returns them. Answer times are date-time cells (the report zone's wall clock), durations
text (``HH:MM:SS``), lead ids and seconds numbers, everything else text, never a formula.

An .xlsx file is a zip archive whose directory comes last, so it cannot be sent before it is
complete: the workbook is written to a temporary file (rows in batches, off the event loop),
and the response streams that file. A sheet holds at most 1,048,576 rows: a report with more
data rows than fit is refused with 41004 before anything is sent.

The same report gives the same bytes: the workbook's creation time (its document property)
is the start of the report's range in UTC (1970-01-01 for a range that starts before it),
not the instant it was written, so a GET and a HEAD of one URL agree on the length and a
cache or a checksum sees one file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import xlsxwriter

from agentcdr.clock import ZoneClock
from agentcdr.errors import InvalidValue
from agentcdr.paging import Page
from agentcdr.records import COL, FIELD, ReportRequest, Row, header_title
from agentcdr.render import format_duration

MAX_ROWS: Final = 1_048_575  # Excel's 1,048,576 rows of a sheet, less the header row


class _Sheet:
    def __init__(self, path: str, request: ReportRequest) -> None:
        self.workbook = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,  # each row goes to disk once written
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        # (Not before 1970: a document's date has four-digit years, and a range can start
        # in year 1.)
        created = datetime.fromtimestamp(max(request.start_ts, 0), UTC)
        self.workbook.set_properties({"created": created.replace(tzinfo=None)})
        self.sheet = self.workbook.add_worksheet("agent_cdr")
        bold = self.workbook.add_format({"bold": True})
        self._when = self.workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._clock = ZoneClock(request.tz)
        self.sheet.write_row(0, 0, [header_title(f) for f in request.fields], bold)
        self._cells = [self._cell(f) for f in request.fields]
        self.rows = 0

    def _cell(self, name: str) -> Callable[[int, int, Row], None]:
        field = FIELD[name]
        index = COL[field.column]
        sheet, clock, when = self.sheet, self._clock, self._when
        if field.show == "time":
            return lambda r, c, row: sheet.write_datetime(r, c, clock.naive(row[index]), when)
        if field.show == "duration":
            return lambda r, c, row: sheet.write_string(r, c, format_duration(row[index]))
        if field.numeric:

            def number(r: int, c: int, row: Row) -> None:
                if row[index] is not None:
                    sheet.write_number(r, c, row[index])

            return number
        return lambda r, c, row: sheet.write_string(r, c, str(row[index]))

    def write(self, batch: Sequence[Row]) -> None:
        if self.rows + len(batch) > MAX_ROWS:
            raise InvalidValue(
                "responsetype",
                f"an Excel sheet holds at most {MAX_ROWS:,} rows and this report has more: "
                "choose a shorter range, or csv",
            )
        cells = self._cells
        for row in batch:
            self.rows += 1
            for column, cell in enumerate(cells):
                cell(self.rows, column, row)


async def write_workbook(request: ReportRequest, page: Page) -> Path:
    """The report as a temporary .xlsx file; the caller removes it once it is sent."""
    handle, name = tempfile.mkstemp(prefix="agentcdr-", suffix=".xlsx")
    os.close(handle)
    try:
        sheet = _Sheet(name, request)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    closed = False
    try:
        async for batch in page.rows():
            await asyncio.to_thread(sheet.write, batch)
        await asyncio.to_thread(sheet.workbook.close)
        closed = True
    finally:
        if not closed:
            # In a thread, which finishes even if this task is cancelled.
            await asyncio.to_thread(_discard, sheet, name)
    return Path(name)


def _discard(sheet: _Sheet, name: str) -> None:
    """XlsxWriter has no way to give up a workbook: closing it is what lets go of the row
    files of constant-memory mode; the half-written file then goes."""
    with contextlib.suppress(Exception):
        sheet.workbook.close()
    with contextlib.suppress(OSError):
        os.unlink(name)
