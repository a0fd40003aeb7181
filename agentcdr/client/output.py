"""Report files that are resumable and never half-written: the output of ``agentcdr fetch``.

Rows go to ``<output>.part``; after each finished span the file is flushed to disk and
``<output>.state.json`` records the finished days and the byte length of the part file. A
run that fails leaves both; the next run with the same request cuts the part file back to
that length, skips the finished days and goes on. Only a complete report is renamed to
``<output>``, and the state file is then removed.

Parquet cannot be appended to, so its rows are spooled as NDJSON and converted, in row
groups, once the report is complete.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import IO, Any, Final

import orjson

from agentcdr import csvtext
from agentcdr.client.plan import Span
from agentcdr.client.rows import CdrRow
from agentcdr.errors import ConfigError
from agentcdr.records import ALL_FIELDS, DEFAULT_FIELDS, NUMERIC_FIELDS, column_headers

OUTPUT_FORMATS: Final = ("csv", "json", "ndjson", "parquet")
_EXTENSIONS: Final = {".csv": "csv", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}
_EXTENSIONS_PARQUET: Final = (".parquet", ".pq")
ROW_GROUP_ROWS: Final = 65_536
STATE_VERSION: Final = 1


def format_of(path: Path, given: str | None) -> str:
    """The output format: as given, else from the file's extension."""
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix in _EXTENSIONS_PARQUET:
        return "parquet"
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    raise ConfigError(f"cannot tell the format of {path} from its extension; use --format")


def parse_fields(text: str | None) -> tuple[str, ...]:
    """``None``: the documented columns; ``all``: with the extras; else a comma list."""
    if not text:
        return DEFAULT_FIELDS
    if text.strip().lower() == "all":
        return ALL_FIELDS
    chosen = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    unknown = [f for f in chosen if f not in ALL_FIELDS]
    if unknown or not chosen:
        raise ConfigError(
            f"unknown field {unknown[0] if unknown else text!r}; available: {', '.join(ALL_FIELDS)}"
        )
    return chosen


class _Encoder:
    """Rows -> bytes of one format; ``first`` tells whether a row was written before."""

    def __init__(self, fmt: str, fields: Sequence[str]) -> None:
        self.fmt = fmt
        self.fields = tuple(fields)

    def prologue(self) -> bytes:
        if self.fmt == "csv":
            return csvtext.lines([self.fields]).encode()
        if self.fmt == "json":
            return b'{"result":"success","data":{"rows":['
        return b""

    def rows(self, rows: Sequence[CdrRow], first: bool) -> bytes:
        values = [[row.api_value(f) for f in self.fields] for row in rows]
        if self.fmt == "csv":
            cells = [["" if v is None else str(v) for v in vs] for vs in values]
            return csvtext.lines(cells).encode()
        objects = [orjson.dumps(dict(zip(self.fields, vs, strict=True))) for vs in values]
        if self.fmt == "json":
            return (b"" if first else b",") + b",".join(objects)
        return b"".join(o + b"\n" for o in objects)  # ndjson, and the parquet spool

    def epilogue(self) -> bytes:
        if self.fmt == "json":
            return b'],"headers":' + orjson.dumps(column_headers(self.fields)) + b"}}\n"
        return b""


def write_atomic(path: Path, data: bytes) -> None:
    """``data`` in ``path`` whole or not at all: written beside it, flushed to disk, renamed."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class ReportFile:
    """One report being written; see the module's docstring."""

    def __init__(
        self, path: Path, fmt: str, fields: Sequence[str], request: dict[str, Any]
    ) -> None:
        if fmt not in OUTPUT_FORMATS:
            raise ConfigError(f"unknown format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}")
        if fmt == "parquet":
            _pyarrow()  # fail before fetching anything
        self.path = path
        self.fmt = fmt
        self.part = path.with_name(path.name + (".part.ndjson" if fmt == "parquet" else ".part"))
        self.state_path = path.with_name(path.name + ".state.json")
        self.request = {**request, "format": fmt, "fields": list(fields)}
        self._encoder = _Encoder("ndjson" if fmt == "parquet" else fmt, fields)
        self.fields = tuple(fields)
        self.done_days: set[date] = set()
        self.rows = 0
        self.resumed = False
        self._file: IO[bytes] | None = None

    def open(self, restart: bool = False) -> None:
        """Resume from the state file when it is for the same request, else start afresh."""
        try:
            self._open(restart)
        except OSError as exc:
            raise ConfigError(f"cannot write {self.part}: {exc.strerror or exc}") from exc

    def _open(self, restart: bool) -> None:
        state = self._load_state() if not restart else None
        if state is not None and self.part.exists():
            self._file = self.part.open("r+b")
            self._file.truncate(state["offset"])
            self._file.seek(state["offset"])
            self.done_days = {date.fromisoformat(d) for d in state["done"]}
            self.rows = int(state["rows"])
            self.resumed = True
            return
        self._file = self.part.open("wb")
        self._file.write(self._encoder.prologue())
        self._save_state()

    def _load_state(self) -> dict[str, Any] | None:
        try:
            state = orjson.loads(self.state_path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        if (
            not isinstance(state, dict)
            or state.get("version") != STATE_VERSION
            or state.get("request") != self.request
        ):
            return None
        return state

    def _save_state(self) -> None:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        state = {
            "version": STATE_VERSION,
            "request": self.request,
            "done": sorted(d.isoformat() for d in self.done_days),
            "offset": self._file.tell(),
            "rows": self.rows,
        }
        write_atomic(self.state_path, orjson.dumps(state, option=orjson.OPT_INDENT_2))

    def write(self, rows: Sequence[CdrRow]) -> None:
        if not rows:
            return
        assert self._file is not None
        self._file.write(self._encoder.rows(rows, first=self.rows == 0))
        self.rows += len(rows)

    def span_done(self, span: Span) -> None:
        """Record a finished span. Only closed spans can be: a span through "now" has no end
        to resume after, so ``agentcdr fetch`` always asks for a closed range."""
        if not span.closed:
            raise ValueError("a report file needs closed spans (give to_date)")
        self.done_days.update(span.days())
        self._save_state()

    def finish(self) -> None:
        """Complete the file and put it in place."""
        assert self._file is not None
        self._file.write(self._encoder.epilogue())
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        if self.fmt == "parquet":
            final_part = self.path.with_name(self.path.name + ".part")
            _ndjson_to_parquet(self.part, final_part, self.fields)
            self.part.unlink()
            final_part.replace(self.path)
        else:
            self.part.replace(self.path)
        self.state_path.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop without finishing: the part and state files stay for the next run, unless
        no span was finished, when there is nothing to resume."""
        if self._file is not None:
            self._file.close()
            self._file = None
            if not self.done_days:
                self.part.unlink(missing_ok=True)
                self.state_path.unlink(missing_ok=True)


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ConfigError("Parquet output needs pyarrow: pip install 'agentcdr[parquet]'") from None
    return pyarrow


def _parquet_type(pa: Any, field: str) -> Any:
    return pa.int64() if field in NUMERIC_FIELDS else pa.string()


def _batches(path: Path, size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    with path.open("rb") as f:
        for line in f:
            batch.append(orjson.loads(line))
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def _ndjson_to_parquet(source: Path, target: Path, fields: Sequence[str]) -> None:
    """The spooled rows as Parquet, one row group at a time."""
    pa = _pyarrow()
    schema = pa.schema([(f, _parquet_type(pa, f)) for f in fields])
    with pa.parquet.ParquetWriter(str(target), schema) as writer:
        for batch in _batches(source, ROW_GROUP_ROWS):
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
