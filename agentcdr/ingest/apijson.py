"""The API's own JSON response (``{"result": "success", "data": {"rows": [...]}}``) -> records.

A report pulled from another server can be gigabytes, so the file is fed in 1 MiB chunks to
the streaming parser the client reads responses with (``agentcdr.jsonrows``): it yields each
row of ``data.rows`` as it completes (``headers``, ``meta`` and unknown keys may come in any
order), and memory stays at about one chunk plus one batch. A bare JSON array of row objects
is taken as well.

Errors name the physical line where the row starts (for a one-line document, line 1) and add
the row's index, e.g. ``(data.rows[41])``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import BinaryIO, Final

from agentcdr.errors import DataError
from agentcdr.ingest.fields import OBJECT_INDEX, BadValue, Builders, ObjectRows
from agentcdr.jsonrows import JsonRowsError, Row, RowsParser
from agentcdr.store.base import WriteRow

_CHUNK: Final = 1 << 20
_MAX_ITEM: Final = 16 << 20  # a row or kept value longer than this is not a report row


def _document_rows(raw: BinaryIO, name: str, parser: RowsParser, zone: str) -> Iterator[Row]:
    try:
        while chunk := raw.read(_CHUNK):
            yield from parser.feed(chunk)
        if parser.ended:
            _check_response(parser, name)
            _check_zone(parser, name, zone)
        parser.close()
    except JsonRowsError as exc:
        field = "(row)" if exc.in_row else "(json)"
        raise DataError(name, exc.line, field, exc.detail) from None


def _check_response(parser: RowsParser, name: str) -> None:
    """A whole document that is not a report: an error response, or no rows at all."""
    result, message = parser.outside.get("result"), parser.outside.get("message")
    if result not in (None, "success"):
        detail = f": {message}" if isinstance(message, str) else ""
        raise DataError(
            name,
            parser.end_line,
            "(json)",
            f"the file is an API error response (result {result!r}){detail}",
        )
    if not parser.found_rows:
        raise DataError(
            name, parser.end_line, "(json)", "not an agent_cdr API response: no data.rows"
        )


def _check_zone(parser: RowsParser, name: str, zone: str) -> None:
    """A report whose ``meta.timezone`` is not the import's zone: its answer times are wall
    clock in another zone, and read in this one every call would move by the difference.
    ``meta`` follows the rows in a report, so this is known only at the end of the file;
    the file's transaction is then rolled back, and nothing of it is stored."""
    data = parser.outside.get("data")
    meta = data.get("meta") if isinstance(data, dict) else None
    shown = meta.get("timezone") if isinstance(meta, dict) else None
    if isinstance(shown, str) and shown != zone:
        raise DataError(
            name,
            parser.end_line,
            "(json)",
            f"the report's answer times are in {shown} (meta.timezone), not in the import's "
            f"zone {zone}: import it with --tz {shown}",
        )


def api_json_batches(
    raw: BinaryIO,
    name: str,
    builder_for: Builders,
    batch_rows: int,
    warn: Callable[[str], None],
) -> Generator[list[WriteRow], None, None]:
    objects = ObjectRows(lambda keys: warn(f"{name}: ignoring unknown keys: {', '.join(keys)}"))
    values = objects.values
    build = builder_for(dict(OBJECT_INDEX))
    parser = RowsParser(bare_array=True, max_item_bytes=_MAX_ITEM)
    batch: list[WriteRow] = []
    for row in _document_rows(raw, name, parser, builder_for.tz.key):
        try:
            batch.append(build(values(row.value)))
        except BadValue as exc:
            detail = f"{exc.detail} ({parser.label(row.place)})"
            raise DataError(name, row.line, exc.field, detail) from None
        if len(batch) >= batch_rows:
            yield batch
            batch = []
    if batch:
        yield batch
