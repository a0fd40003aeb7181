"""The API's own JSON response (``{"result": "success", "data": {"rows": [...]}}``) -> records.

A report pulled from another server can be gigabytes, so the document is scanned
incrementally in 1 MiB chunks instead of being loaded whole: a small scanner walks the
structure around ``data.rows`` (skipping ``headers``, ``meta`` and unknown keys in any order),
and each row, a flat JSON object, is cut out with one regular expression and decoded by
orjson. Memory stays at about one chunk plus one batch. A bare JSON array of row objects is
taken as well.

Errors name the physical line where the row starts (for a one-line document, line 1) and add
the row's index, e.g. ``(data.rows[41])``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from typing import BinaryIO, Final

import orjson

from agentcdr.errors import DataError
from agentcdr.ingest.fields import OBJECT_INDEX, BadValue, Builder, ObjectRows
from agentcdr.records import CallRecord

_CHUNK: Final = 1 << 20
_MAX_ITEM: Final = 16 << 20  # a row or key longer than this is not a report row
_WS: Final = re.compile(rb"[ \t\r\n]*+")
_STRING: Final = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
# A JSON object without nested objects or arrays: what every report row is.
_FLAT_OBJECT: Final = re.compile(rb'\{(?:[^{}\[\]"\\]++|"(?:[^"\\]++|\\.)*+")*+\}', re.DOTALL)
_SCALAR: Final = re.compile(rb"-?[0-9][0-9eE.+\-]*+|true|false|null")
# Tokens for skipping a nested value: strings (which may hold brackets), brackets, the rest.
_TOKEN: Final = re.compile(rb'"(?:[^"\\]++|\\.)*+"|[\[\]{}]|[^"\[\]{}]++', re.DOTALL)


class _Scanner:
    """A byte buffer over a file, refilled on demand, that knows its line numbers."""

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self.raw = raw
        self.name = name
        self.buf = b""
        self.pos = 0
        self.eof = False
        self._line = 1  # the line of buf[_counted]
        self._counted = 0

    def fill(self) -> bool:
        if self.eof:
            return False
        data = self.raw.read(_CHUNK)
        if not data:
            self.eof = True
            return False
        self.line()  # count the newlines of the part about to be dropped
        self.buf = self.buf[self.pos :] + data
        self.pos = self._counted = 0
        return True

    def line(self) -> int:
        """The physical line of the current position (positions only move forward)."""
        self._line += self.buf.count(b"\n", self._counted, self.pos)
        self._counted = self.pos
        return self._line

    def error(self, detail: str, field: str = "(json)") -> DataError:
        return DataError(self.name, self.line(), field, detail)

    def peek(self) -> bytes:
        """The next byte that is not white space (consumed up to it), or b"" at the end."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or not self.fill():
                return self.buf[self.pos : self.pos + 1]

    def expect(self, char: bytes, what: str) -> None:
        if self.peek() != char:
            raise self.error(f"expected {what}")
        self.pos += 1

    def need(self, pattern: re.Pattern[bytes], what: str) -> re.Match[bytes]:
        """A match at the position that the end of the buffer did not cut short."""
        while True:
            match = pattern.match(self.buf, self.pos)
            if match is not None and (match.end() < len(self.buf) or self.eof):
                return match
            if len(self.buf) - self.pos > _MAX_ITEM or not self.fill():
                if match is not None:
                    return match
                raise self.error(f"expected {what}")

    def scalar(self) -> object:
        """A string, number, true, false or null; a nested value is skipped (``None``)."""
        first = self.peek()
        if first in (b"{", b"["):
            self.skip()
            return None
        match = self.need(_STRING if first == b'"' else _SCALAR, "a JSON value")
        self.pos = match.end()
        try:
            return orjson.loads(match.group())
        except orjson.JSONDecodeError:
            raise self.error("expected a JSON value") from None

    def skip(self) -> None:
        """Steps over one value of any kind."""
        if self.peek() not in (b"{", b"["):
            self.scalar()
            return
        depth = 0
        while True:
            match = self.need(_TOKEN, "the end of a JSON value")
            self.pos = match.end()
            first = match.group()[:1]
            if first in (b"{", b"["):
                depth += 1
            elif first in (b"}", b"]"):
                depth -= 1
                if depth == 0:
                    return

    def members(self) -> Iterator[str]:
        """The keys of the object starting here; the consumer reads or skips each value."""
        self.expect(b"{", "a JSON object")
        if self.peek() == b"}":
            self.pos += 1
            return
        while True:
            self.peek()
            match = self.need(_STRING, "an object key")
            self.pos = match.end()
            key = orjson.loads(match.group())
            self.expect(b":", "':' after an object key")
            self.peek()  # so that a consumer's own peek does not look like reading the value
            before = self.pos
            yield key
            if self.pos == before:
                self.skip()
            nxt = self.peek()
            self.pos += 1
            if nxt == b"}":
                return
            if nxt != b",":
                self.pos -= 1
                raise self.error("expected ',' or '}' in an object")

    def rows(self, where: str) -> Iterator[tuple[int, str, object]]:
        """(line, label, decoded object) for each element of the array starting here."""
        self.expect(b"[", f"an array at {where}")
        if self.peek() == b"]":
            self.pos += 1
            return
        index = 0
        while True:
            self.peek()
            line = self.line()
            label = f"{where}[{index}]"
            match = self.need(_FLAT_OBJECT, f"a flat JSON object at {label}")
            self.pos = match.end()
            try:
                obj = orjson.loads(match.group())
            except orjson.JSONDecodeError as exc:
                raise DataError(
                    self.name, line, "(row)", f"not valid JSON ({label}): {exc}"
                ) from None
            yield line, label, obj
            index += 1
            nxt = self.peek()
            self.pos += 1
            if nxt == b"]":
                return
            if nxt != b",":
                self.pos -= 1
                raise self.error(f"expected ',' or ']' after {label}")


def _document_rows(scan: _Scanner) -> Iterator[tuple[int, str, object]]:
    first = scan.peek()
    if first == b"[":
        yield from scan.rows("rows")
    elif first == b"{":
        result: object = None
        message: object = None
        found = False
        for key in scan.members():
            if key == "result":
                result = scan.scalar()
            elif key == "message":
                message = scan.scalar()
            elif key == "data" and scan.peek() == b"{":
                for inner in scan.members():
                    if inner == "rows":
                        found = True
                        yield from scan.rows("data.rows")
        if result not in (None, "success"):
            detail = f": {message}" if isinstance(message, str) else ""
            raise scan.error(f"the file is an API error response (result {result!r}){detail}")
        if not found:
            raise scan.error("not an agent_cdr API response: no data.rows")
    else:
        raise scan.error("expected an agent_cdr API response (a JSON object) or an array")
    if scan.peek():
        raise scan.error("unexpected data after the end of the JSON document")


def api_json_batches(
    raw: BinaryIO,
    name: str,
    builder_for: Callable[[dict[str, int]], Builder],
    batch_rows: int,
    warn: Callable[[str], None],
) -> Generator[list[CallRecord], None, None]:
    objects = ObjectRows(lambda keys: warn(f"{name}: ignoring unknown keys: {', '.join(keys)}"))
    values = objects.values
    build = builder_for(dict(OBJECT_INDEX))
    batch: list[CallRecord] = []
    for line, label, obj in _document_rows(_Scanner(raw, name)):
        try:
            batch.append(build(values(obj)))
        except BadValue as exc:
            raise DataError(name, line, exc.field, f"{exc.detail} ({label})") from None
        if len(batch) >= batch_rows:
            yield batch
            batch = []
    if batch:
        yield batch
