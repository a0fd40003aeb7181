"""The one CSV rule of agentcdr (RFC 4180): a cell is quoted only when it holds a quote, a
comma or a line end, and a quote inside it is doubled.

The server's CSV encoder renders batches with generated row functions (``agentcdr.render``),
which quote with ``cell`` and check a batch with ``plain``; ``agentcdr fetch`` and the demo's
CSV write rows of text with ``lines``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

_NEEDS_QUOTES: Final = re.compile(r'[",\r\n]')


def cell(text: str) -> str:
    if _NEEDS_QUOTES.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def plain(text: str, rows: int, cells: int, end: str = "\r\n") -> bool:
    """Whether ``rows`` lines of ``cells`` cells, joined without quoting, needed none: then the
    text holds no quote, and only the commas and line ends of its own markup.

    Values that need quoting are rare, and checking each one costs more than writing it, so
    a batch is joined as it is and checked once, as a whole.
    """
    return (
        '"' not in text
        and text.count(",") == rows * (cells - 1)
        and text.count("\n") == rows * end.count("\n")
        and text.count("\r") == rows * end.count("\r")
    )


def lines(rows: Sequence[Sequence[str]], end: str = "\r\n") -> str:
    """Rows of text cells (each row as wide as the first) as CSV lines."""
    if not rows:
        return ""
    width = len(rows[0])
    text = "".join([",".join(row) + end for row in rows])
    if width > 1 and plain(text, len(rows), width, end):
        return text
    return "".join([_line(row) + end for row in rows])


def _line(row: Sequence[str]) -> str:
    if len(row) == 1 and not row[0]:
        return '""'  # a lone empty cell: written bare it is a blank line, which readers skip
    return ",".join([cell(text) for text in row])
