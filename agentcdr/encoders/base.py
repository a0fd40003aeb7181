"""What every encoder shares: text as UTF-8."""

from __future__ import annotations


def utf8(text: str | bytes) -> bytes:
    """A batch's text as bytes (rendered rows come as either)."""
    return text.encode() if isinstance(text, str) else text
