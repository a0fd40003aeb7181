"""Report rows rendered by the database: the SQL of one row's text in a ``render.RowStyle``,
for SQLite, PostgreSQL and MariaDB/MySQL.

The driver then builds one text value per row instead of a tuple of eleven or more, and the
database's C code does the formatting that ``agentcdr.render`` does in Python. The reference
stays ``render.compile_text``; what is rendered here must equal it byte for byte
(``tests/test_rendered.py``), so this module renders in SQL only what SQL renders exactly:

- answer times: the instant plus the report zone's UTC offset, from a CASE over the offset
  stretches of the range (``summary.offset_stretches``, from the zone's rules in Python),
  formatted by the database's date functions (years 1000-9999; other ranges are rendered in
  Python, see ``renders``);
- durations: ``HH:MM:SS``, hours never wrapped, negative as zero (``render.format_duration``);
- JSON: keys and numbers as text; on SQLite, strings quoted by ``json_object``, which is
  orjson's quoting exactly; on PostgreSQL and MariaDB, strings in quotes *without*
  escaping, checked as CSV and XML are (below): their quoting per value (``to_json``,
  ``JSON_QUOTE``) is the server's work for every value (A's 30-day JSON on PostgreSQL:
  1.80x → 1.31x ``psql``'s export, docs/benchmarks.md, finding 0). Quoted there,
  ``to_json`` is orjson's exactly; MariaDB's ``JSON_QUOTE`` writes six control
  characters' escapes with capital hex digits, so its text is checked (``RowSQL.check``);
- CSV and XML: the values *without* escaping (with ``csvFormulas=neutralize``, the ``'``
  before a formula's first character added in SQL), then checked in Python as a whole with
  ``render.plain_check``: escaping per value in SQL cost more than the whole export.

PostgreSQL reads a CSV report's slices as COPY's own CSV of the cells instead
(``csv_cells``, ``postgres.CSV_COPY``), whose quoting is agentcdr's.

A text read without escaping that fails its check is read again with the escaping (JSON:
the quoting) done in SQL, and so is every later part of that report (``RowTexts``): values
that need escaping come in a few kinds of value, which then recur throughout the report.
Escaping in SQL tests every text value of every row, so clean reports are read plain and
checked. A text that fails even then (MariaDB's JSON escapes) is rendered again in Python
from the store's rows of the same part, in the same snapshot (each store's reader of parts
does all three); the characters XML cannot carry and JSON's U+2028/U+2029 are left to
the encoders, as for rows rendered in Python. Only constants go into the SQL text: field
names from ``records.FIELDS``, offsets from the zone's rules (``int``), never a request
value (those are bound parameters; PostgreSQL's COPY, which takes none, gets them as the
server quotes them: ``store.sql.postgres``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final

from agentcdr.csvtext import FORMULA_STARTS, QUOTED_CHARACTERS
from agentcdr.records import COLUMN, FIELD, ReportRequest
from agentcdr.render import RowStyle, TextCheck, plain_check
from agentcdr.store.slices import part_limit
from agentcdr.store.sql.report_query import PLAIN, QueryHooks, report_query
from agentcdr.store.sql.schema import Dialect
from agentcdr.summary import Stretches, offset_case, offset_stretches
from agentcdr.xmltext import ENTITIES as XML_ENTITIES

_EPOCH: Final = date(1970, 1, 1)
# The ranges whose answer times all fall within years 1000-9999 (with a day to spare for
# any UTC offset): there every database and the Python reference write four-digit years.
_FIRST_TS: Final = (date(1000, 1, 2) - _EPOCH).days * 86400
_LAST_TS: Final = (date(9999, 12, 30) - _EPOCH).days * 86400


def renders(request: ReportRequest) -> bool:
    """Whether the database renders this request's rows: a whole report (a page, with
    ``limit``, needs each row's key to end at its limit and name the next cursor, and is
    rendered in Python), over years 1000-9999."""
    return (
        request.limit is None
        and request.cursor is None
        and request.start_ts >= _FIRST_TS
        and request.end_ts <= _LAST_TS
    )


@dataclass(frozen=True)
class RowSQL:
    """The SQL of a rendered row's text (without its line end), and the check its batches
    must pass (None: exact as it is)."""

    expression: str
    check: TextCheck | None


class RowTexts:
    """The row SQL of one rendered report's parts: plain and checked, until a part fails its
    check; from then on, escaped in SQL (see the module docstring)."""

    def __init__(self, style: RowStyle, dialect: str) -> None:
        self.style = style
        self._dialect = dialect
        self._escape = False

    def row(self, part: ReportRequest) -> RowSQL:
        """The row SQL to read ``part`` with."""
        return row_sql(self.style, self._dialect, part.start_ts, part.end_ts, escape=self._escape)

    def escaped(self, part: ReportRequest, tried: RowSQL) -> RowSQL | None:
        """After ``part``, read with ``tried``, failed its check: the row SQL to read it
        again with (and every later part); None when its rows are to be rendered in Python
        (``tried`` was escaped already: MariaDB's JSON; or JSON quoted by the database from
        the start, on SQLite). Parts read side by side may each fail before the switch."""
        if self.style.kind in ("json", "ndjson") and not _DIALECTS[self._dialect].plain_json:
            return None
        self._escape = True
        again = self.row(part)
        return None if again == tried else again


def joined(style: RowStyle, row: RowSQL, texts: Sequence[str]) -> str | bytes | None:
    """The rows' texts as a batch of ``style``; None when the batch fails ``row``'s check."""
    return checked(row, style.join(texts), len(texts))


def checked(row: RowSQL, text: str | bytes, rows: int) -> str | bytes | None:
    """The batch ``text`` of ``rows`` rows (str, or UTF-8 bytes), or None when it fails
    ``row``'s check. Bytes are checked as Latin-1 text, a copy without decoding: the
    characters a check counts are ASCII, and no byte of a longer UTF-8 sequence is."""
    if row.check is None:
        return text
    view = text.decode("latin-1") if isinstance(text, bytes) else text
    return text if row.check(view, rows) else None


def part_query(
    part: ReportRequest, row: RowSQL, dialect: Dialect, hooks: QueryHooks = PLAIN
) -> tuple[str, list[Any]]:
    """The query of a part of a rendered report (``store.slices``): its rows' texts, as
    ``line``."""
    return report_query(part, dialect, hooks, f"{row.expression} AS line")


def last_key_query(
    part: ReportRequest, dialect: Dialect, hooks: QueryHooks = PLAIN
) -> tuple[str, list[Any]]:
    """The query of the key (answer time, id) of a part's last row, for a part whose rows
    reached its limit (read in the same snapshot as its rows)."""
    last = part_limit(part) - 1
    return report_query(replace(part, limit=0), dialect, hooks, "answer_ts, id", offset=last)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Dialect:
    """How one database writes each piece of a row; SQLite's by default."""

    def concat(self, parts: list[str]) -> str:
        # || makes text of a number, which alone would stay one.
        return _tree(parts) if len(parts) > 1 else f"'' || {parts[0]}"

    def char(self, code: int) -> str:
        return f"char({code})"

    def time(self, local: str) -> str:
        return f"datetime({local}, 'unixepoch')"

    def duration(self, seconds: str) -> str:
        # time() for a day's seconds (the common case, and fast); printf past a day.
        return (
            f"CASE WHEN {seconds} >= 0 AND {seconds} < 86400 THEN time({seconds}, 'unixepoch') "
            f"WHEN {seconds} >= 86400 THEN printf('%02d:%02d:%02d', {seconds} / 3600, "
            f"{seconds} / 60 % 60, {seconds} % 60) ELSE '00:00:00' END"
        )

    def number(self, column: str, null: str) -> str:
        return f"ifnull({column}, {_literal(null)})"

    def first_char(self, column: str) -> str:
        return f"substr({column}, 1, 1)"

    def matches(self, text: str, characters: str) -> str:
        """Whether ``text`` holds any of ``characters`` (none of them ``]``, ``^`` or ``-``).
        Not GLOB: it ends a text at a NUL character."""
        return " OR ".join(f"instr({text}, {self.character(c)})" for c in characters)

    def character(self, c: str) -> str:
        """One character in SQL: a control character by its code, others as a literal."""
        return self.char(ord(c)) if c < " " else _literal(c)

    def json_row(self, pairs: list[tuple[str, str, str]]) -> str:
        # json_object quotes text as orjson does and writes integers and NULL as JSON.
        args = ", ".join(f"{_literal(name)}, {sql}" for name, sql, _ in pairs)
        return f"json_object({args})"

    json_check: TextCheck | None = None
    # Whether JSON rows are first read unquoted and checked (``render.plain_check``), as CSV
    # and XML are: SQLite's json_object costs little, the others' quoting per value a lot.
    plain_json = False


class _Postgres(_Dialect):
    # What the rendering needs of the session (set for the transaction it reads in).
    SESSION: Final = "SET LOCAL datestyle = 'ISO, YMD'; SET LOCAL intervalstyle = 'postgres'"
    plain_json = True

    def concat(self, parts: list[str]) -> str:
        return f"concat({', '.join(parts)})"

    def char(self, code: int) -> str:
        return f"chr({code})"

    def time(self, local: str) -> str:
        # A timestamp's and an interval's text need DateStyle ISO and IntervalStyle
        # postgres (``SESSION``): faster than to_char.
        return f"(timestamp '1970-01-01' + make_interval(secs => {local}))::text"

    def duration(self, seconds: str) -> str:
        # An interval of seconds counts every hour (90007 s is 25:00:07).
        return (
            f"CASE WHEN {seconds} > 0 THEN make_interval(secs => {seconds})::text "
            "ELSE '00:00:00' END"
        )

    def number(self, column: str, null: str) -> str:
        return f"coalesce({column}::text, {_literal(null)})"

    def matches(self, text: str, characters: str) -> str:
        return f"{text} ~ {_literal('[' + characters + ']')}"

    def json_row(self, pairs: list[tuple[str, str, str]]) -> str:
        return " || ".join(_merged(_json_parts(pairs, "to_json({})::text", self)))


class _MySQL(_Dialect):
    plain_json = True

    def concat(self, parts: list[str]) -> str:
        return f"CONCAT({', '.join(parts)})"

    def char(self, code: int) -> str:
        return f"CHAR({code} USING utf8mb4)"

    def time(self, local: str) -> str:
        # Zone-free: a DATETIME from the epoch, not FROM_UNIXTIME (the session's zone).
        return f"CAST(TIMESTAMP'1970-01-01 00:00:00' + INTERVAL ({local}) SECOND AS CHAR)"

    def duration(self, seconds: str) -> str:
        # A TIME holds up to 838:59:59; beyond, hours are written out. (No "%": the driver
        # formats the statement with its parameters.)
        return (
            f"CASE WHEN {seconds} >= 0 AND {seconds} < 3020400 "
            f"THEN CAST(SEC_TO_TIME({seconds}) AS CHAR) WHEN {seconds} >= 3020400 "
            f"THEN CONCAT({seconds} DIV 3600, ':', LPAD(MOD({seconds} DIV 60, 60), 2, '0'), "
            f"':', LPAD(MOD({seconds}, 60), 2, '0')) ELSE '00:00:00' END"
        )

    def number(self, column: str, null: str) -> str:
        return f"IFNULL({column}, {_literal(null)})"

    def first_char(self, column: str) -> str:
        return f"LEFT({column}, 1)"

    def matches(self, text: str, characters: str) -> str:
        return " OR ".join(f"LOCATE({self.character(c)}, {text}) > 0" for c in characters)

    def json_row(self, pairs: list[tuple[str, str, str]]) -> str:
        return self.concat(_merged(_json_parts(pairs, "JSON_QUOTE({})", self)))

    @staticmethod
    def _json_check(text: str, rows: int) -> bool:
        # JSON_QUOTE's only difference from orjson is in the \u00XX escapes of control
        # characters; a text without any is exact.
        return "\\u00" not in text

    json_check = _json_check


def _json_parts(pairs: list[tuple[str, str, str]], quote: str | None, d: _Dialect) -> list[str]:
    """A JSON object's parts, text values quoted by ``quote`` (SQL with ``{}``; None: in
    quotes as they are, for ``render.plain_check``, which relies on text columns never being
    NULL: a NULL would be an empty string there, not ``null``), numbers and NULL written as
    JSON, clock texts (digits, dashes, colons) in quotes as they are."""
    parts: list[str] = []
    for i, (name, sql, kind) in enumerate(pairs):
        parts.append(_Text(("{" if i == 0 else ",") + f'"{name}":'))
        if kind == "text" and quote is not None:
            parts.append(quote.format(sql))
        elif kind == "number":
            parts.append(d.number(sql, "null"))
        else:
            parts += [_Text('"'), sql, _Text('"')]
    return [*parts, _Text("}")]


_DIALECTS: Final[dict[str, _Dialect]] = {
    "sqlite": _Dialect(),
    "postgresql": _Postgres(),
    "mysql": _MySQL(),
}


POSTGRES_SESSION: Final = _Postgres.SESSION


def row_sql(
    style: RowStyle, dialect: str, start_ts: int, end_ts: int, *, escape: bool = False
) -> RowSQL:
    """The SQL of one row of ``style`` over calls answered in ``[start_ts, end_ts)`` (the
    answer times' offsets are those of that range) on ``dialect`` (``Dialect.name``); with
    ``escape``, text values escaped (JSON: quoted) in SQL, exact without a check but for
    MariaDB's JSON."""
    return _row_sql(style, dialect, offset_stretches(style.tz, start_ts, end_ts), escape)


def csv_cells(style: RowStyle, start_ts: int, end_ts: int) -> str:
    """PostgreSQL: the cells of a CSV row of ``style`` over ``[start_ts, end_ts)`` as a
    SELECT list of text values, none NULL, unescaped (with ``csvFormulas=neutralize``, the
    ``'`` added): for ``COPY ... (FORMAT csv)``, whose quoting is ``csvtext.cell``'s exactly
    (``postgres.CSV_COPY``)."""
    return _csv_cells(style, offset_stretches(style.tz, start_ts, end_ts))


@functools.lru_cache(maxsize=256)
def _csv_cells(style: RowStyle, stretches: Stretches) -> str:
    return ", ".join(sql for _, sql, _ in _pairs(style, "postgresql", stretches, False))


@functools.lru_cache(maxsize=1024)
def _row_sql(style: RowStyle, dialect: str, stretches: Stretches, escape: bool) -> RowSQL:
    """``row_sql`` for the range's offset stretches: the same for every report of the same
    days, style and store, so made once."""
    d = _DIALECTS[dialect]
    json = style.kind in ("json", "ndjson")
    pairs = _pairs(style, dialect, stretches, escape)
    if json and (escape or not d.plain_json):
        return RowSQL(d.json_row(pairs), d.json_check)
    if json:
        plain = d.concat(_merged(_json_parts(pairs, None, d)))
        return RowSQL(plain, plain_check(style.fields, style.kind))
    check = None if escape else plain_check(style.fields, style.kind)
    parts: list[str] = []
    if style.kind == "xml":
        for name, sql, _ in pairs:
            parts += [_Text(f"<{name}>"), sql, _Text(f"</{name}>")]
        parts = [_Text("<rows>"), *parts, _Text("</rows>")]
    else:
        for i, (_, sql, _) in enumerate(pairs):
            parts += [_Text(","), sql] if i else [sql]
    return RowSQL(d.concat(_merged(parts)), check)


def _pairs(
    style: RowStyle, dialect: str, stretches: Stretches, escape: bool
) -> list[tuple[str, str, str]]:
    """Each field of a row of ``style``: its name, its value's SQL (text, or for JSON a
    number) and its kind (``text``, ``number`` or ``clock``)."""
    d = _DIALECTS[dialect]
    offset = offset_case("answer_ts", stretches)
    local = "answer_ts" if offset == "0" else f"answer_ts + {offset}"
    json = style.kind in ("json", "ndjson")
    pairs: list[tuple[str, str, str]] = []
    for name in style.fields:
        field = FIELD[name]
        column = COLUMN[field.column].store
        if field.show == "time":
            pairs.append((name, d.time(local), "clock"))
        elif field.show == "duration":
            pairs.append((name, d.duration(column), "clock"))
        elif field.numeric:
            pairs.append((name, column if json else d.number(column, ""), "number"))
        else:
            value = _neutral(d, column) if style.neutralize and not json else column
            if escape and not json:
                value = _escaped(d, value, style.kind)
            pairs.append((name, value, "text"))
    return pairs


def _tree(parts: list[str]) -> str:
    """The parts joined by ||, as a balanced tree: each || copies both sides, and a chain
    copies its growing left side again at every step."""
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return f"({_tree(parts[:middle])}) || ({_tree(parts[middle:])})"


class _Text(str):
    """Text to write as it is (a literal), among parts that are SQL."""


def _merged(parts: list[str]) -> list[str]:
    """The parts as SQL, with neighbouring texts in one literal: fewer pieces to join."""
    out: list[str] = []
    text: list[str] = []
    for part in parts:
        if isinstance(part, _Text):
            text.append(part)
            continue
        if text:
            out.append(_literal("".join(text)))
            text = []
        out.append(part)
    if text:
        out.append(_literal("".join(text)))
    return out


def _escaped(d: _Dialect, value: str, kind: str) -> str:
    """A text value escaped in SQL as ``csvtext.cell`` or ``xmltext.escape`` escape it."""
    if kind == "xml":
        # Replaced only where needed: replace() copies a text even when nothing is replaced.
        escaped = value
        for character, entity in XML_ENTITIES:
            escaped = f"replace({escaped}, {d.character(character)}, {_literal(entity)})"
        special = "".join(character for character, _ in XML_ENTITIES)
        return f"CASE WHEN {d.matches(value, special)} THEN {escaped} ELSE {value} END"
    quoted = d.concat([_literal('"'), f"replace({value}, '\"', '\"\"')", _literal('"')])
    return f"CASE WHEN {d.matches(value, QUOTED_CHARACTERS)} THEN {quoted} ELSE {value} END"


def _neutral(d: _Dialect, column: str) -> str:
    """``csvtext.neutral`` in SQL: a ``'`` before a value that starts like a formula."""
    starts = ", ".join(d.character(c) for c in FORMULA_STARTS)
    marked = d.concat([_literal("'"), column])
    return f"CASE WHEN {d.first_char(column)} IN ({starts}) THEN {marked} ELSE {column} END"
