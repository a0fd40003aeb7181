"""Import calls from files into a store: CSV, NDJSON, or the API's own JSON response.

Each file is one store transaction: a bad value anywhere rolls the whole file back, and the
``DataError`` names the file, the line and the field. Records are validated and written in
batches, so memory does not grow with the file. Importing a file again changes nothing:
rows are keyed by their ``call_id``, or, when the file has none, by ``natural_key``.

Formats (chosen by extension, or explicitly):

- ``csv`` (``.csv``): a header row naming the fields; see ``readers.csv_batches``.
- ``ndjson`` (``.ndjson``, ``.jsonl``): one JSON object per line.
- ``json`` (``.json``): an agent_cdr API response, or a bare array of row objects.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from agentcdr.errors import ConfigError
from agentcdr.ingest.pipeline import READERS, ReadSpec, batch_source, pipelined
from agentcdr.records import natural_key
from agentcdr.store.base import CallStore, WriteCounts

# Rows per batch handed from the reader to the writer (the stores cut their statements
# from it): large enough to spread the fixed costs of a message and a statement.
BATCH_ROWS: Final = 20_000

FORMATS: Final = tuple(READERS)
SUFFIXES: Final = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "json"}

_log = logging.getLogger("agentcdr.ingest")


def detect_format(path: str | Path, given: str | None = None) -> str:
    """The format named by ``given``, or else by the file's extension."""
    if given:
        if given.lower() not in READERS:
            raise ConfigError(f"unknown import format {given!r}: use {', '.join(FORMATS)}")
        return given.lower()
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(
            f"cannot tell the format of {path} from its extension; "
            f"use --format ({', '.join(FORMATS)})"
        )
    return SUFFIXES[suffix]


@dataclass(frozen=True)
class ImportResult:
    file: str
    format: str
    counts: WriteCounts
    seconds: float
    import_id: int = 0  # the entry in the store's record of imports
    dry_run: bool = False  # counted only: nothing was written

    @property
    def rows(self) -> int:
        return self.counts.total


async def import_file(
    store: CallStore,
    path: str | Path,
    *,
    tz: ZoneInfo,
    fmt: str | None = None,
    source: str = "",
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    dry_run: bool = False,
    reader_process: bool | None = None,
) -> ImportResult:
    """Validates and writes one file in one transaction; all of it commits, or nothing.

    ``tz`` is the zone of the file's wall-clock ``answer_time`` values. ``source`` names
    where the calls come from: call ids are unique per source, so two systems whose ids
    overlap can be imported side by side. ``progress`` is called after each batch with the
    number of bytes read so far; ``warn`` receives warnings such as unknown columns.
    ``dry_run`` validates and counts what would be inserted, updated and left unchanged,
    and writes nothing. ``reader_process`` reads the file in a child process (by default
    when it is large: ``pipeline.PROCESS_BYTES``).
    """
    name = str(path)
    kind = detect_format(path, fmt)
    if len(source) > 64:
        raise ConfigError("the import source name is longer than 64 characters")
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below, after the transaction
    except OSError as exc:
        raise ConfigError(f"cannot read {name}: {exc.strerror or exc}") from exc
    started = time.perf_counter()
    spec = ReadSpec(name, kind, tz, source, batch_rows)
    # The reader starts first (a child process takes a moment), and is closed after the
    # transaction has ended, also when a write fails half-way.
    with raw:
        size = os.fstat(raw.fileno()).st_size
        async with (
            batch_source(spec, raw, size, warn or _log.warning, reader_process) as batches,
            store.writer(source, kind="import", name=name, dry_run=dry_run) as writer,
            aclosing(pipelined(batches)) as items,
        ):
            async for rows, position in items:
                await writer.write_rows(rows)
                if progress is not None:
                    progress(position)
    seconds = time.perf_counter() - started
    return ImportResult(name, kind, writer.counts, seconds, writer.import_id, dry_run)


__all__ = [
    "BATCH_ROWS",
    "FORMATS",
    "ImportResult",
    "detect_format",
    "import_file",
    "natural_key",
]
