"""The report query, built once for every SQL dialect of agentcdr's own store.

Only placeholders are ever put into the SQL text; every request value travels as a bound
parameter. Column and sort names come from the constants below, never from the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from agentcdr.errors import InvalidValue
from agentcdr.paging import NOT_A_CURSOR
from agentcdr.records import COLUMN, ReportRequest
from agentcdr.store.sql.rows import SELECT_COLUMNS
from agentcdr.store.sql.schema import Dialect
from agentcdr.summary import TIME_KEYS, offset_case, offset_stretches


class _Params:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.values: list[Any] = []

    def add(self, *values: Any) -> list[str]:
        marks = self.dialect.placeholders(len(values), start=len(self.values) + 1)
        self.values.extend(values)
        return marks

    def one(self, value: Any) -> str:
        return self.add(value)[0]

    def in_list(self, column: str, values: tuple[str, ...]) -> str:
        if len(values) == 1:
            return f"{column} = {self.one(values[0])}"
        return f"{column} IN ({', '.join(self.add(*values))})"


@dataclass(frozen=True)
class QueryHooks:
    """What a database adds to the report query: text from constants and settings only.

    ``prefix`` stands before the statement (MariaDB's ``SET STATEMENT … FOR``), ``hint``
    right after ``SELECT`` (MySQL's optimizer hints), and ``indexes`` are the only indexes
    the plan of a report's rows may use (MariaDB/MySQL ``FORCE INDEX``; ``updated_indexes``
    when the request has ``updatedSince``). They keep the first row of a streamed report
    quick; a summary, which has no order and no first row, does not take them
    (``summary_query``).
    """

    prefix: str = ""
    hint: str = ""
    indexes: str = ""
    updated_indexes: str = ""

    def table(self, request: ReportRequest) -> str:
        indexes = self.updated_indexes if request.updated_since is not None else self.indexes
        return f"calls FORCE INDEX ({indexes})" if indexes else "calls"


PLAIN: Final = QueryHooks()


# The list filters of a request and the column each one matches (lower-cased values against
# a lower-cased column where the match is case-insensitive; agent_key is the lower-cased
# agent, kept so that the match is an index range scan).
_LIST_FILTERS: Final = (
    ("users", "agent_key"),
    ("profiles", "profile"),
    ("call_types", "call_type"),
    ("dispositions", "LOWER(disposition)"),
    ("campaigns", "LOWER(campaign_name)"),
    ("phones", "phone_number"),
    ("loans", "loan_number"),
)


def _filters(request: ReportRequest, p: _Params) -> list[str]:
    """The conditions of a request's filters, beyond its range (shared by the report and
    its summary, so that their counts agree)."""
    where = []
    if request.tenants == ():
        where.append("1 = 0")  # a scope of no tenants sees nothing (the API asks no query)
    elif request.tenants is not None:
        where.append(p.in_list("portfolio", request.tenants))
    for attribute, column in _LIST_FILTERS:
        values: tuple[str, ...] = getattr(request, attribute)
        if values:
            where.append(p.in_list(column, values))
    if request.updated_since is not None:
        where.append(f"updated_at >= {p.one(request.updated_since)}")
    return where


def report_query(
    request: ReportRequest,
    dialect: Dialect,
    hooks: QueryHooks = PLAIN,
    columns: str = SELECT_COLUMNS,
    offset: int = 0,
) -> tuple[str, list[Any]]:
    """SQL and parameters for a report request: its rows as ``columns`` (by default the
    store's row, ``records.ROW_COLUMNS``; ``store.sql.rendered`` writes a rendered row's),
    the first ``offset`` rows skipped (with a ``limit`` only)."""
    p = _Params(dialect)
    desc = request.order == "desc"
    cursor = request.cursor
    lower_op, lower, upper_op, upper = ">=", request.start_ts, "<", request.end_ts
    if cursor is not None and type(cursor.id) is not int:
        # agentcdr's own ids are integers (a text id is the VICIdial adapter's).
        raise InvalidValue("cursor", NOT_A_CURSOR)
    if cursor is not None:
        # The cursor's time replaces the range bound on its side, so that every database
        # scans the index from the cursor on instead of from the range's start: deep pages
        # stay as cheap as the first. Ties on the cursor's time continue by id.
        if desc:
            upper_op, upper = "<=", min(cursor.answer_ts, request.end_ts - 1)
        else:
            lower = max(cursor.answer_ts, request.start_ts)
    # Placeholders are taken in the order they appear in the text ("?" and "%s" are positional).
    where = [f"answer_ts {lower_op} {p.one(lower)}", f"answer_ts {upper_op} {p.one(upper)}"]
    where += _filters(request, p)
    if cursor is not None:
        op = "<" if desc else ">"
        ts, row_id = p.add(cursor.answer_ts, cursor.id)
        where.append(f"(answer_ts {op} {ts} OR id {op} {row_id})")
    direction = "DESC" if desc else "ASC"
    sql = (
        f"{hooks.prefix}SELECT {hooks.hint}{columns} FROM {hooks.table(request)} "
        f"WHERE {' AND '.join(where)} ORDER BY answer_ts {direction}, id {direction}"
    )
    if request.limit is not None:
        # One row more than asked, to learn whether a next page exists.
        sql += f" LIMIT {p.one(request.limit + 1)}"
        if offset:
            sql += f" OFFSET {p.one(offset)}"
    return sql, p.values


# The column of each summary key that is one (day and hour are computed).


def summary_query(
    request: ReportRequest,
    group_by: tuple[str, ...],
    dialect: Dialect,
    hooks: QueryHooks = PLAIN,
) -> tuple[str, list[Any]]:
    """SQL and parameters grouping a request's calls by ``group_by``: the keys, then calls,
    total and longest duration. ``day`` is the local day counted from 1970-01-01 and
    ``hour`` the local hour of the day, from the instant plus the zone's UTC offset of its
    stretch (``summary.offset_stretches``). ``hooks`` give the time limit, not the index
    list: a GROUP BY has no order to keep, and over a wide range MariaDB's own plan, a
    table scan, beats reading the calls one by one through ``calls_answer``."""
    p = _Params(dialect)
    local = ""
    if TIME_KEYS & set(group_by):
        stretches = offset_stretches(request.tz, request.start_ts, request.end_ts)
        local = f"answer_ts + {offset_case('answer_ts', stretches)}"
    keys = []
    for key in group_by:
        if key == "day":
            keys.append(dialect.intdiv(local, 86400))
        elif key == "hour":
            keys.append(dialect.mod(dialect.intdiv(local, 3600), 24))
        else:
            keys.append(COLUMN[key].store)
    where = [
        f"answer_ts >= {p.one(request.start_ts)}",
        f"answer_ts < {p.one(request.end_ts)}",
        *_filters(request, p),
    ]
    ordinals = ", ".join(str(n) for n in range(1, len(keys) + 1))
    sql = (
        f"{hooks.prefix}SELECT {hooks.hint}{', '.join(keys)}, COUNT(*), SUM(duration_sec), "
        f"MAX(duration_sec) FROM calls WHERE {' AND '.join(where)} "
        f"GROUP BY {ordinals}"
    )
    return sql, p.values
