"""Push parsers: report bytes in, row mappings out, as the bytes arrive.

No I/O here, so the sync and the async client share them and tests feed them recorded bytes
in any split. Each parser's ``feed`` returns the rows completed by a piece of the body;
``close`` returns the last ones and raises when the body stopped before the report ended
(``IncompleteResponse``), is not the format asked for (``MalformedResponse``) or is an error
body (the typed ``ApiError``, for servers that answer errors with HTTP 200). After ``close``,
``trailer`` holds what came after the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast
from xml.etree import ElementTree

import orjson

from agentcdr.client.errors import IncompleteResponse, MalformedResponse, api_error
from agentcdr.jsonrows import JsonRowsError, RowsParser

RowData = dict[str, Any]

# No row is this long: a longer one is not a row that is still arriving but a malformed body.
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


class JsonParser:
    """The documented JSON body, rows streamed one by one by ``agentcdr.jsonrows``, the parser
    ``agentcdr import`` reads files with; what surrounds the rows (result, headers, meta,
    next_cursor, or an error body) is applied at the end."""

    def __init__(self) -> None:
        self.trailer = Trailer()
        self._rows = RowsParser(bare_array=False, max_item_bytes=_MAX_ROW_BYTES)

    def feed(self, data: bytes) -> list[RowData]:
        try:
            return [row.value for row in self._rows.feed(data)]
        except JsonRowsError as exc:
            raise _malformed(exc) from None

    def close(self) -> list[RowData]:
        try:
            self._rows.close()
        except JsonRowsError as exc:
            if exc.truncated:
                raise IncompleteResponse(
                    "the response ended before the JSON document did"
                ) from None
            raise _malformed(exc) from None
        _control(self._rows.outside, self.trailer)
        return []


def _malformed(error: JsonRowsError) -> MalformedResponse:
    return MalformedResponse(f"the response is not a JSON report: {error}")


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
