"""Rows -> byte chunks, one module per format; and the error bodies.

An encoder takes the rows' ``render.RowStyle`` (which fields, in which zone) and the
``paging.Page`` (the rows in batches, as the store's rendered text or rows rendered here in
Python; then the finished ``meta`` and ``next_cursor``), and yields the response body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Final

from agentcdr.encoders.csv import encode_csv
from agentcdr.encoders.json import dumps, encode_json, encode_ndjson
from agentcdr.encoders.xml import document, element, encode_xml
from agentcdr.errors import ApiError
from agentcdr.paging import Page
from agentcdr.render import RowStyle

Encoder = Callable[[RowStyle, Page], AsyncIterator[bytes]]

ENCODERS: Final[dict[str, Encoder]] = {
    "json": encode_json,
    "xml": encode_xml,
    "csv": encode_csv,
    "ndjson": encode_ndjson,
}
MEDIA_TYPES: Final = {
    "json": "application/json; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def error_body(error: ApiError, fmt: str) -> bytes:
    """The one error body: the class's wire code and the message, in XML or JSON."""
    fields = {"result": "error", "code": error.code, "message": error.message}
    if fmt == "xml":
        return document(element(k, v) + "\n" for k, v in fields.items())
    return dumps(fields)


__all__ = ["ENCODERS", "MEDIA_TYPES", "Encoder", "error_body"]
