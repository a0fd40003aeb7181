"""Proof that a CLI export and the API return the same rows, in the same order.

Both outputs are read as streams, row by row in lockstep, so a 2M-row range needs no memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path


@dataclass(frozen=True)
class Comparison:
    api_rows: int
    export_rows: int
    first_difference: int | None  # 0-based row index, None when the rows are equal
    api_row: list[str] | None = None
    export_row: list[str] | None = None

    @property
    def equal(self) -> bool:
        return self.first_difference is None and self.api_rows == self.export_rows


def rows(path: Path, kind: str, header: bool = False) -> Iterator[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        if kind == "csv":
            reader: Iterator[list[str]] = csv.reader(f)
        elif kind == "tsv":
            reader = (line.rstrip("\r\n").split("\t") for line in f)
        else:
            raise ValueError(f"cannot compare rows of {kind!r} output")
        if header:
            next(reader, None)
        yield from reader


def compare(api_csv: Path, export: Path, kind: str) -> Comparison:
    """The API's CSV report (with its header row) against an export (without)."""
    api_count = export_count = 0
    difference: Comparison | None = None
    for a, b in zip_longest(rows(api_csv, "csv", header=True), rows(export, kind)):
        api_count += a is not None
        export_count += b is not None
        if difference is None and a != b:
            difference = Comparison(0, 0, max(api_count, export_count) - 1, a, b)
    if difference is None:
        return Comparison(api_count, export_count, None)
    return Comparison(
        api_count, export_count, difference.first_difference, difference.api_row,
        difference.export_row,
    )  # fmt: skip
