"""What every encoder shares: the column headers of a report."""

from __future__ import annotations

from collections.abc import Sequence


def header_title(field: str) -> str:
    return field.upper().replace("_", " ")


def headers(fields: Sequence[str]) -> list[dict[str, str]]:
    return [{"title": header_title(f), "field": f, "formatter": "html"} for f in fields]
