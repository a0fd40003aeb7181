"""CSV and NDJSON files -> batches of validated records, streamed.

Readers yield lists of at most ``batch_rows`` records, so memory does not grow with the
file. A bad value raises ``DataError`` naming the file, the 1-based physical line where the
row starts, and the field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Generator
from typing import BinaryIO

import orjson

from agentcdr.errors import DataError
from agentcdr.ingest.fields import (
    DURATIONS,
    KNOWN,
    OBJECT_INDEX,
    REQUIRED,
    BadValue,
    Builders,
    ObjectRows,
)
from agentcdr.store.base import WriteRow

Batches = Generator[list[WriteRow], None, None]
Warn = Callable[[str], None]


def header_key(title: str) -> str:
    """A CSV header cell -> a field name: also takes the API's titles (``ANSWER TIME``)."""
    return title.strip().lower().replace(" ", "_")


def _csv_index(name: str, header: list[str], warn: Warn) -> dict[str, int]:
    index: dict[str, int] = {}
    unknown: list[str] = []
    for position, title in enumerate(header):
        key = header_key(title)
        if key in KNOWN:
            if key in index:
                raise DataError(name, 1, key, "the header names this column twice")
            index[key] = position
        elif key:
            unknown.append(title.strip())
    for field in REQUIRED:
        if field not in index:
            raise DataError(name, 1, field, "missing column in the header row")
    if not any(d in index for d in DURATIONS):
        raise DataError(
            name, 1, "call_duration", "missing column (call_duration or call_duration_sec)"
        )
    if unknown:
        warn(f"{name}: ignoring unknown columns: {', '.join(unknown)}")
    return index


def csv_batches(
    raw: BinaryIO,
    name: str,
    builder_for: Builders,
    batch_rows: int,
    warn: Warn,
) -> Batches:
    """Comma-separated values with a header row, RFC 4180 quoting, UTF-8 (BOM allowed)."""
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    line = 0  # the physical line the current row ends on
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(name, 1, "(header)", "the file is empty; expected a header row")
        build = builder_for(_csv_index(name, header, warn))
        width = len(header)
        batch: list[WriteRow] = []
        line = reader.line_num
        start = line + 1
        for row in reader:
            start, line = line + 1, reader.line_num
            if len(row) != width:
                if not any(cell.strip() for cell in row):
                    continue  # blank line
                raise DataError(
                    name, start, "(row)", f"{len(row)} values, but the header has {width} columns"
                )
            batch.append(build(row))
            if len(batch) >= batch_rows:
                yield batch
                batch = []
        if batch:
            yield batch
    except BadValue as exc:
        raise DataError(name, start, exc.field, exc.detail) from None
    except UnicodeDecodeError:
        raise DataError(name, line + 1, "(row)", "not UTF-8 text near this line") from None
    except csv.Error as exc:
        raise DataError(name, line + 1, "(row)", f"not valid CSV: {exc}") from None
    finally:
        # The caller owns the binary file: do not let the wrapper close it.
        text.detach()


def ndjson_batches(
    raw: BinaryIO,
    name: str,
    builder_for: Builders,
    batch_rows: int,
    warn: Warn,
) -> Batches:
    """One JSON object per line; blank lines are skipped."""
    objects = ObjectRows(lambda keys: warn(f"{name}: ignoring unknown keys: {', '.join(keys)}"))
    values = objects.values
    build = builder_for(dict(OBJECT_INDEX))
    batch: list[WriteRow] = []
    number = 0
    try:
        for number, line in enumerate(raw, 1):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                if not line.strip():
                    continue
                raise DataError(name, number, "(row)", f"not valid JSON: {exc}") from None
            batch.append(build(values(obj)))
            if len(batch) >= batch_rows:
                yield batch
                batch = []
        if batch:
            yield batch
    except BadValue as exc:
        raise DataError(name, number, exc.field, exc.detail) from None
