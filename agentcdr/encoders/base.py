"""What every encoder shares: the column headers of a report, and text as UTF-8."""

from __future__ import annotations

from collections.abc import Sequence


def header_title(field: str) -> str:
    return field.upper().replace("_", " ")


def headers(fields: Sequence[str]) -> list[dict[str, str]]:
    return [{"title": header_title(f), "field": f, "formatter": "html"} for f in fields]


def utf8(text: str | bytes) -> bytes:
    """A batch's text as bytes (rendered rows come as either)."""
    return text.encode() if isinstance(text, str) else text
