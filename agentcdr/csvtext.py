"""The one CSV rule of agentcdr (RFC 4180): a cell is quoted only when it holds a quote, a
comma or a line end, and a quote inside it is doubled.

The server's CSV encoder renders batches with generated row functions (``agentcdr.render``),
which quote with ``cell`` (or ``safe_cell``, for spreadsheets) and check a batch with
``plain``; ``agentcdr fetch`` and the demo's CSV write rows of text with ``lines``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

QUOTED_CHARACTERS: Final = '",\r\n'  # a cell holding any of them is quoted
_NEEDS_QUOTES: Final = re.compile(f"[{QUOTED_CHARACTERS}]")
# What a spreadsheet takes for the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
# A cell starting so, in text whose cells are plain (``plain``): at the start or after a
# comma or a line end.
_FORMULA_CELL: Final = re.compile(r"(?:\A|[,\n])[=+\-@\t\r]")


def cell(text: str) -> str:
    if _NEEDS_QUOTES.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def neutral(text: str) -> str:
    """The text as a spreadsheet shows it as text: a ``'`` before a leading ``=``, ``+``,
    ``-``, ``@``, tab or carriage return, which would otherwise start a formula (so
    ``+15551234567`` becomes ``'+15551234567``: for spreadsheets, not for import)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_cell(text: str) -> str:
    return cell(neutral(text))


def formula_cell(text: str) -> bool:
    """Whether plain CSV text (see ``plain``) has a cell that ``neutral`` would change."""
    return _FORMULA_CELL.search(text) is not None


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
