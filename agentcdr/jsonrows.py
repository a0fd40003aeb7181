"""One streaming parser for JSON reports: bytes in, the rows of ``data.rows`` out as they complete.

The client feeds it a response body as it arrives (``agentcdr.client.parse``) and ``agentcdr
import`` feeds it a file in chunks (``agentcdr.ingest.apijson``). A report can be gigabytes, so
the document is never held: each row, a flat JSON object, is cut out with one regular
expression and decoded by orjson on its own, and the structure around the rows is walked
token by token. Of that structure only ``result``, ``code`` and ``message`` and ``data``'s
``next_cursor``, ``meta`` and ``headers`` are kept (``outside``), in any order; everything else
is checked and skipped. Memory holds one chunk, one row and those few values; a row or a value
longer than ``max_item_bytes`` is an error, not something to wait for.

Errors (``JsonRowsError``) name the physical line of the byte at fault (for a one-line
document, line 1) and say whether the input ended before the document did (``truncated``), so
the importer can point at the line and the client can tell a cut body from a foreign one.
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

import orjson

_WS: Final = re.compile(rb"[ \t\r\n]*+")
_STRING: Final = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
# A flat object up to its closing brace, or up to where the buffer ends (inside a string, too)
# or a character that cannot be in a flat object ('{', '[', ']', a backslash outside a string).
# (Unrolled and possessive: the fastest form measured, and linear.)
_FLAT_PREFIX: Final = re.compile(
    rb'\{[^"{}\[\]\\]*+(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"[^"{}\[\]\\]*+)*+', re.DOTALL
)
_SCALAR: Final = re.compile(rb'[^ \t\r\n"{}\[\],:]++')
_LBRACE, _RBRACE, _LBRACKET, _RBRACKET = b"{}[]"
_QUOTE, _COMMA, _COLON = b'",:'

_KEPT_TOP: Final = frozenset({"result", "code", "message"})
_KEPT_DATA: Final = frozenset({"next_cursor", "meta", "headers"})

# Frame states. In an object: after "{", after ",", after a key, before a value, after a value.
_O_FIRST, _O_KEY, _O_COLON, _O_VALUE, _O_NEXT = range(5)
# In an array outside the rows, and in the rows array: at its start, after ",", after a value.
_A_FIRST, _A_VALUE, _A_NEXT = range(5, 8)
_R_FIRST, _R_ROW, _R_NEXT = range(8, 11)
# What an object is: the document, its "data", or any other.
_TOP, _DATA, _OTHER = range(3)


class JsonRowsError(Exception):
    """The bytes are not a JSON report. ``truncated``: the input ended before the document
    did; ``in_row``: a row's own text is not valid JSON (``detail`` names the row)."""

    def __init__(
        self, detail: str, line: int, *, truncated: bool = False, in_row: bool = False
    ) -> None:
        super().__init__(f"line {line}: {detail}")
        self.detail = detail
        self.line = line
        self.truncated = truncated
        self.in_row = in_row


class Row(NamedTuple):
    line: int  # the physical line of the row's "{"
    place: int  # its index in the rows array, from 0
    value: dict[str, Any]


class _Frame:
    """An open object or array, with the key whose value is being read."""

    __slots__ = ("key", "role", "state")

    def __init__(self, state: int, role: int = _OTHER) -> None:
        self.state = state
        self.role = role
        self.key = ""


class RowsParser:
    """Push parser: ``feed`` returns the rows a piece of the input completed, ``close`` says
    whether the input was one whole document. Then ``outside`` holds what was kept around
    the rows, ``found_rows`` whether there was a rows array and ``end_line`` the line where
    the document ended.

    ``bare_array``: a top-level array is the rows (labelled ``rows[i]``, not ``data.rows[i]``).
    An error found after some rows of a piece is raised by the next call, once those rows are
    out, so that every error comes in document order.
    """

    def __init__(self, *, bare_array: bool, max_item_bytes: int) -> None:
        self.bare_array = bare_array
        self.max_item_bytes = max_item_bytes
        self.outside: dict[str, Any] = {}
        self.found_rows = False
        self.ended = False
        self.end_line = 0
        self.where = "data.rows"
        self._buf = b""
        self._stack: list[_Frame] = []
        self._line = 1  # the line of _buf[_counted]
        self._counted = 0
        self._count = 0  # rows of the current rows array so far
        self._capture: bytearray | None = None  # the tokens of a kept value being read
        self._capture_depth = 0
        self._capture_into: tuple[dict[str, Any], str] = ({}, "")
        self._trailing_line: int | None = None
        self._failed: JsonRowsError | None = None
        self._final = False  # no more input: a number at the very end is complete

    def label(self, index: int) -> str:
        return f"{self.where}[{index}]"

    def feed(self, data: bytes) -> list[Row]:
        if self._failed is not None:
            raise self._failed
        if self._trailing_line is not None:
            return []  # past the end: nothing more is read
        self._buf = self._buf + data if self._buf else data
        out: list[Row] = []
        try:
            pos = self._run(out)
            self._line_at(pos)
            self._buf, self._counted = self._buf[pos:], 0
            if len(self._buf) > self.max_item_bytes:
                what = self.label(self._count) if self._in_rows() else "a value"
                if self._capture is not None:
                    what = self._capture_into[1]
                raise self._error(f"{what} is longer than {self.max_item_bytes:,} bytes", 0)
        except JsonRowsError as exc:
            self._failed, self._buf = exc, b""
            if not out:
                raise
        return out

    def close(self) -> None:
        if self._failed is not None:
            raise self._failed
        if not self.ended:
            # The last piece may end in a complete number or literal: read it, so that the
            # message says what is missing after it.
            self._final = True
            try:
                self._line_at(self._run([]))
            except JsonRowsError as exc:
                exc.truncated = True
                raise
            raise JsonRowsError(self._expected(), self._line, truncated=True)
        if self._trailing_line is not None:
            raise JsonRowsError(
                "unexpected data after the end of the JSON document", self._trailing_line
            )

    # -- the walk ------------------------------------------------------------------------------
    # Each step consumes one token (the rows step: as many rows as are there) and returns the
    # position after it, or ``~pos`` (negative) when the token at ``pos`` is not all there yet.

    def _run(self, out: list[Row]) -> int:
        buf, stack = self._buf, self._stack
        end = len(buf)
        pos = 0
        while True:
            pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
            if pos >= end:
                return pos
            if not stack:
                if self.ended:
                    self._trailing_line = self._line_at(pos)
                    return end
                new = self._start(buf, pos)
            elif stack[-1].state >= _R_FIRST:
                new = self._rows(buf, pos, stack[-1], out)
            elif stack[-1].state >= _A_FIRST:
                new = self._array_step(buf, pos, stack[-1])
            else:
                new = self._object_step(buf, pos, stack[-1])
            if new < 0:
                return ~new
            pos = new

    def _start(self, buf: bytes, pos: int) -> int:
        char = buf[pos]
        if char == _LBRACE:
            self._stack.append(_Frame(_O_FIRST, _TOP))
        elif char == _LBRACKET and self.bare_array:
            self._enter_rows("rows")
        else:
            raise self._unexpected(pos)
        return pos + 1

    def _object_step(self, buf: bytes, pos: int, frame: _Frame) -> int:
        char, state = buf[pos], frame.state
        if state == _O_VALUE:
            return self._value(buf, pos, frame)
        if state == _O_NEXT and char == _COMMA:
            frame.state = _O_KEY
        elif char == _RBRACE and state in (_O_FIRST, _O_NEXT):
            return self._close_frame(buf, pos)
        elif state == _O_COLON and char == _COLON:
            frame.state = _O_VALUE
        elif state in (_O_FIRST, _O_KEY) and char == _QUOTE:
            match = _STRING.match(buf, pos)
            if match is None:
                return ~pos
            frame.key = self._decode(match.group(), pos)
            frame.state = _O_COLON
            self._keep(match.group())
            return match.end()
        else:
            raise self._unexpected(pos)
        self._keep(buf[pos : pos + 1])
        return pos + 1

    def _array_step(self, buf: bytes, pos: int, frame: _Frame) -> int:
        char, state = buf[pos], frame.state
        if char == _RBRACKET and state in (_A_FIRST, _A_NEXT):
            return self._close_frame(buf, pos)
        if state != _A_NEXT:
            return self._value(buf, pos, frame)
        if char != _COMMA:
            raise self._unexpected(pos)
        frame.state = _A_VALUE
        self._keep(b",")
        return pos + 1

    def _value(self, buf: bytes, pos: int, parent: _Frame) -> int:
        char = buf[pos]
        if self._capture is None and parent.state == _O_VALUE:
            if parent.role == _TOP and parent.key == "data" and char == _LBRACE:
                self.outside["data"] = {}
                self._stack.append(_Frame(_O_FIRST, _DATA))
                return pos + 1
            if parent.role == _DATA and parent.key == "rows":
                if char != _LBRACKET:
                    raise self._unexpected(pos)
                self._enter_rows("data.rows")
                return pos + 1
            kept = _KEPT_TOP if parent.role == _TOP else _KEPT_DATA if parent.role == _DATA else ()
            if parent.key in kept:
                target = self.outside if parent.role == _TOP else self.outside["data"]
                self._capture, self._capture_depth = bytearray(), len(self._stack)
                self._capture_into = (target, parent.key)
        if char in (_LBRACE, _LBRACKET):
            self._keep(buf[pos : pos + 1])
            self._stack.append(_Frame(_O_FIRST if char == _LBRACE else _A_FIRST))
            return pos + 1
        match = (_STRING if char == _QUOTE else _SCALAR).match(buf, pos)
        if match is None and char != _QUOTE:
            raise self._unexpected(pos)  # "," ":" "}" "]" where a value should be
        if match is None:
            return ~pos  # a string still open
        if char != _QUOTE and match.end() == len(buf) and not self._final:
            return ~pos  # a number or a literal that may go on in the next piece
        token = match.group()
        self._decode(token, pos)
        self._keep(token)
        self._value_done(match.end())
        return match.end()

    def _rows(self, buf: bytes, pos: int, frame: _Frame, out: list[Row]) -> int:
        """The rows array, in one loop: this is the per-row path of every JSON report."""
        end = len(buf)
        flat, space, loads, limit = _FLAT_PREFIX.match, _WS.match, orjson.loads, self.max_item_bytes
        while True:
            pos = space(buf, pos).end()  # type: ignore[union-attr]
            if pos >= end:
                return pos
            char = buf[pos]
            if frame.state == _R_NEXT:
                if char == _RBRACKET:
                    return self._close_frame(buf, pos)
                if char != _COMMA:
                    raise self._unexpected(pos)
                frame.state = _R_ROW
                pos += 1
                continue
            if char == _RBRACKET and frame.state == _R_FIRST:
                return self._close_frame(buf, pos)
            match = flat(buf, pos)
            if match is None:
                raise self._unexpected(pos)
            stop = match.end()
            if stop == end or buf[stop] == _QUOTE:
                return ~pos  # the row is still arriving
            if buf[stop] != _RBRACE:
                raise self._unexpected(pos)  # a nested value: not a flat row
            stop += 1
            line = self._line_at(pos)
            if stop - pos > limit:
                raise JsonRowsError(
                    f"{self.label(self._count)} is longer than {limit:,} bytes", line
                )
            try:
                value = loads(buf[pos:stop])
            except orjson.JSONDecodeError as exc:
                detail = f"not valid JSON ({self.label(self._count)}): {exc}"
                raise JsonRowsError(detail, line, in_row=True) from None
            out.append(Row(line, self._count, value))
            self._count += 1
            frame.state = _R_NEXT
            pos = stop

    def _enter_rows(self, where: str) -> None:
        self.where, self._count, self.found_rows = where, 0, True
        self._stack.append(_Frame(_R_FIRST))

    def _close_frame(self, buf: bytes, pos: int) -> int:
        self._stack.pop()
        self._keep(buf[pos : pos + 1])
        self._value_done(pos + 1)
        return pos + 1

    def _value_done(self, after: int) -> None:
        stack = self._stack
        if self._capture is not None and len(stack) == self._capture_depth:
            target, key = self._capture_into
            target[key] = orjson.loads(self._capture)  # checked token by token on the way
            self._capture = None
        if not stack:
            self.ended = True
            self.end_line = self._line_at(after)
            return
        parent = stack[-1]
        parent.state = _O_NEXT if parent.state < _A_FIRST else _A_NEXT

    def _keep(self, token: bytes) -> None:
        if self._capture is not None:
            self._capture += token
            if len(self._capture) > self.max_item_bytes:
                raise JsonRowsError(
                    f"{self._capture_into[1]} is longer than {self.max_item_bytes:,} bytes",
                    self._line,
                )

    def _decode(self, token: bytes, pos: int) -> Any:
        try:
            return orjson.loads(token)
        except orjson.JSONDecodeError:
            raise self._unexpected(pos) from None

    # -- where, and what was expected ----------------------------------------------------------

    def _in_rows(self) -> bool:
        return bool(self._stack) and self._stack[-1].state >= _R_FIRST

    def _line_at(self, pos: int) -> int:
        """The physical line of ``_buf[pos]`` (positions only move forward)."""
        self._line += self._buf.count(b"\n", self._counted, pos)
        self._counted = pos
        return self._line

    def _error(self, detail: str, pos: int) -> JsonRowsError:
        return JsonRowsError(detail, self._line_at(pos))

    def _unexpected(self, pos: int) -> JsonRowsError:
        return self._error(self._expected(), pos)

    def _expected(self) -> str:
        """What the document needs next: the message for a wrong byte and for its end."""
        if not self._stack:
            alternative = " or an array" if self.bare_array else ""
            return f"expected an agent_cdr API response (a JSON object){alternative}"
        frame = self._stack[-1]
        state = frame.state
        if state in (_O_FIRST, _O_KEY):
            return "expected an object key"
        if state == _O_COLON:
            return "expected ':' after an object key"
        if state == _O_NEXT:
            return "expected ',' or '}' in an object"
        if state == _A_NEXT:
            return "expected ',' or ']' in an array"
        if state in (_R_FIRST, _R_ROW):
            return f"expected a flat JSON object at {self.label(self._count)}"
        if state == _R_NEXT:
            return f"expected ',' or ']' after {self.label(self._count - 1)}"
        if frame.role == _DATA and frame.key == "rows" and self._capture is None:
            return "expected an array at data.rows"
        return "expected a JSON value"
