"""Push parsers: report bytes in, row mappings out, as the bytes arrive.

No I/O here, so the sync and the async client share them and tests feed them recorded bytes
in any split. Each parser's ``feed`` returns the rows completed by a piece of the body;
``close`` returns the last ones and raises when the body stopped before the report ended
(``IncompleteResponse``), is not the format asked for (``MalformedResponse``) or is an error
body (the typed ``ApiError``, for servers that answer errors with HTTP 200). After ``close``,
``trailer`` holds what came after the rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast
from xml.etree import ElementTree

import orjson

from agentcdr.client.errors import IncompleteResponse, MalformedResponse, api_error

RowData = dict[str, Any]

# A row is a flat object, so its end is the first "}" outside a string; the unrolled string
# loops keep the regular expression linear.
_FLAT_PREFIX: Final = rb'\{[^"{}\[\]]*(?:"[^"\\]*(?:\\.[^"\\]*)*"[^"{}\[\]]*)*'
_FLAT_OBJECT: Final = re.compile(_FLAT_PREFIX + rb"\}", re.S)
_FLAT_START: Final = re.compile(_FLAT_PREFIX, re.S)
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_SCALAR: Final = re.compile(rb'[^\s"{}\[\],:]+')
_SPACE: Final = re.compile(rb"\s*")
# No row is this long: an unmatched stretch longer than this is not a row that is still
# arriving but a malformed body.
_MAX_ROW_BYTES: Final = 1 << 20


@dataclass
class Trailer:
    """What the body says besides its rows."""

    next_cursor: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    headers: list[Any] = field(default_factory=list)


class RowParser(Protocol):
    trailer: Trailer

    def feed(self, data: bytes) -> list[RowData]: ...

    def close(self) -> list[RowData]: ...


def _control(data: dict[str, Any], trailer: Trailer) -> None:
    """Apply a result object (an error body, or the fields around the rows)."""
    result = data.get("result")
    if result == "error":
        raise api_error(data.get("code"), data.get("message"))
    if result != "success":
        raise MalformedResponse(f"unexpected result {result!r} in the response")
    body = data.get("data", data)
    if isinstance(body, dict):
        cursor = body.get("next_cursor")
        trailer.next_cursor = str(cursor) if cursor else None
        trailer.meta = body.get("meta") or {}
        trailer.headers = body.get("headers") or []


def _loads(text: bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise MalformedResponse(f"the response is not valid JSON: {exc}") from None


class NdjsonParser:
    """One JSON object a line. A line with a ``result`` key is not a row but a control line:
    an error, or what a server sends after the rows (next cursor, meta)."""

    def __init__(self) -> None:
        self.trailer = Trailer()
        self._rest = b""

    def _line(self, line: bytes, out: list[RowData]) -> None:
        data = _loads(line)
        if not isinstance(data, dict):
            raise MalformedResponse("an NDJSON line is not an object")
        if "result" in data:
            _control(data, self.trailer)
            # A whole JSON report on one line, from a server that ignored "ndjson".
            rows = data.get("data")
            if isinstance(rows, dict) and isinstance(rows.get("rows"), list):
                out.extend(rows["rows"])
        else:
            out.append(data)

    def feed(self, data: bytes) -> list[RowData]:
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        out: list[RowData] = []
        for line in lines:
            if line.strip():
                self._line(line, out)
        return out

    def close(self) -> list[RowData]:
        rest, self._rest = self._rest, b""
        out: list[RowData] = []
        if rest.strip():
            # A last line without its newline is complete only if it parses; a line cut
            # mid-row never does.
            try:
                self._line(rest, out)
            except MalformedResponse:
                raise IncompleteResponse("the response ended in the middle of a row") from None
        return out


class _Level:
    """An open object or array outside the rows, with the key being read."""

    __slots__ = ("expect_key", "is_object", "key")

    def __init__(self, is_object: bool) -> None:
        self.is_object = is_object
        self.expect_key = is_object
        self.key: str | None = None


class JsonParser:
    """The documented JSON body, rows streamed one by one.

    Everything outside ``data.rows`` (result, headers, meta, next_cursor, or an error body) is
    copied into a small skeleton document, parsed at the end; each row is cut out with a
    regular expression and parsed on its own, so memory holds one network chunk at a time.
    """

    def __init__(self) -> None:
        self.trailer = Trailer()
        self._buf = b""
        self._skeleton = bytearray()
        self._stack: list[_Level] = []
        self._in_rows = False
        self._after_row = False
        self._ended = False

    def feed(self, data: bytes) -> list[RowData]:
        buf = self._buf + data if self._buf else data
        out: list[RowData] = []
        pos = 0
        while pos < len(buf):
            step = self._row_step if self._in_rows else self._skeleton_step
            new = step(buf, pos, out)
            if new < 0:
                break
            pos = new
        self._buf = buf[pos:]
        if len(self._buf) > _MAX_ROW_BYTES:
            raise MalformedResponse("the response holds a row that is not a flat JSON object")
        return out

    def close(self) -> list[RowData]:
        if self._buf.strip() or not self._ended:
            raise IncompleteResponse("the response ended before the JSON document did")
        data = _loads(bytes(self._skeleton))
        if not isinstance(data, dict):
            raise MalformedResponse("the response is not a JSON object")
        _control(data, self.trailer)
        return []

    def _rows_path(self) -> bool:
        stack = self._stack
        return (
            len(stack) == 2
            and stack[0].key == "data"
            and stack[1].is_object
            and stack[1].key == "rows"
        )

    def _skeleton_step(self, buf: bytes, pos: int, out: list[RowData]) -> int:
        """Consume one token outside the rows; -1 when it is not all there yet."""
        char = buf[pos : pos + 1]
        if char in b" \t\r\n":
            return _SPACE.match(buf, pos).end()  # type: ignore[union-attr]
        if self._ended or (not self._stack and char != b"{"):
            raise MalformedResponse("the response is not a JSON object")
        top = self._stack[-1] if self._stack else None
        if char == b'"':
            match = _STRING.match(buf, pos)
            if match is None:
                return -1
            if top is not None and top.expect_key:
                top.key, top.expect_key = orjson.loads(match.group()), False
            self._skeleton += match.group()
            return match.end()
        self._skeleton += char
        if char in b"{[":
            if char == b"[" and self._rows_path():
                self._in_rows, self._after_row = True, False
            self._stack.append(_Level(char == b"{"))
        elif char in b"}]":
            self._stack.pop()
            self._ended = not self._stack
        elif char == b",":
            if top is not None and top.is_object:
                top.expect_key = True
        elif char != b":":
            # A number or a literal: copied as it comes, even split across chunks.
            end = _SCALAR.match(buf, pos).end()  # type: ignore[union-attr]
            self._skeleton += buf[pos + 1 : end]
            return end
        return pos + 1

    def _row_step(self, buf: bytes, pos: int, out: list[RowData]) -> int:
        pos = _SPACE.match(buf, pos).end()  # type: ignore[union-attr]
        if pos >= len(buf):
            return pos
        char = buf[pos : pos + 1]
        if char == b"]":
            self._skeleton += b"]"
            self._stack.pop()
            self._in_rows = False
            return pos + 1
        if self._after_row:
            if char != b",":
                raise MalformedResponse("rows are not separated by commas")
            self._after_row = False
            return pos + 1
        if char != b"{":
            raise MalformedResponse("a report row is not a JSON object")
        match = _FLAT_OBJECT.match(buf, pos)
        if match is None:
            end = _FLAT_START.match(buf, pos).end()  # type: ignore[union-attr]
            if buf[end : end + 1] in (b"{", b"[", b"]"):
                raise MalformedResponse("a report row is not a flat JSON object")
            return -1  # the row is still arriving
        out.append(_loads(match.group()))
        self._after_row = True
        return match.end()


def _xml_value(element: ElementTree.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    value: dict[str, Any] = {}
    for child in children:
        item = _xml_value(child)
        if child.tag in value:
            # Repeated elements are a list (GoAutoDial style).
            previous = value[child.tag]
            value[child.tag] = (
                [*previous, item]
                if isinstance(previous, list)
                else [
                    previous,
                    item,
                ]
            )
        else:
            value[child.tag] = item
    return value


class XmlParser:
    """The GoAutoDial XML tree; each finished ``<rows>`` element is taken out of the tree."""

    def __init__(self) -> None:
        self.trailer = Trailer()
        self._parser: ElementTree.XMLPullParser[ElementTree.Element] = ElementTree.XMLPullParser(
            events=("start", "end")
        )
        self._path: list[ElementTree.Element] = []
        self._top: dict[str, str] = {}
        self._data: dict[str, Any] = {}

    def feed(self, data: bytes) -> list[RowData]:
        try:
            # The pull parser keeps a syntax error for ``read_events`` to raise.
            self._parser.feed(data)
            return self._events()
        except ElementTree.ParseError as exc:
            raise MalformedResponse(f"the response is not well-formed XML: {exc}") from None

    def close(self) -> list[RowData]:
        try:
            self._parser.close()
        except ElementTree.ParseError:
            raise IncompleteResponse("the response ended before the XML document did") from None
        out = self._events()
        result = self._top.get("result")
        if result == "error":
            raise api_error(self._top.get("code"), self._top.get("message"))
        if result != "success":
            raise MalformedResponse(f"unexpected result {result!r} in the response")
        self.trailer = Trailer(
            next_cursor=self._data.get("next_cursor") or None,
            meta=self._data.get("meta") or {},
            headers=self._data.get("headers") or [],
        )
        return out

    def _events(self) -> list[RowData]:
        out: list[RowData] = []
        path = self._path
        for item in self._parser.read_events():
            # Only start and end events were asked for: the item's last part is the element.
            element = cast(ElementTree.Element, item[-1])
            if item[0] == "start":
                path.append(element)
                continue
            path.pop()
            depth = len(path)
            if depth == 2 and path[1].tag == "data":
                if element.tag == "rows":
                    out.append({child.tag: child.text or "" for child in element})
                elif element.tag == "headers":
                    self._data.setdefault("headers", []).append(_xml_value(element))
                else:
                    self._data[element.tag] = _xml_value(element)
                # Taken out, so that the tree does not grow with the report.
                path[1].remove(element)
            elif depth == 1:
                self._top[element.tag] = element.text or ""
        return out


def parser_for(fmt: str) -> RowParser:
    if fmt == "ndjson":
        return NdjsonParser()
    if fmt == "xml":
        return XmlParser()
    return JsonParser()
