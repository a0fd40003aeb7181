"""The report query, built once for every SQL dialect of agentcdr's own store.

Only placeholders are ever put into the SQL text; every request value travels as a bound
parameter. Column and sort names come from the constants below, never from the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from agentcdr.records import ReportRequest
from agentcdr.store.sql.rows import SELECT_COLUMNS
from agentcdr.store.sql.schema import Dialect


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
    the plan may use (MariaDB/MySQL ``FORCE INDEX``; ``updated_indexes`` when the request
    has ``updatedSince``).
    """

    prefix: str = ""
    hint: str = ""
    indexes: str = ""
    updated_indexes: str = ""

    def table(self, request: ReportRequest) -> str:
        indexes = self.updated_indexes if request.updated_since is not None else self.indexes
        return f"calls FORCE INDEX ({indexes})" if indexes else "calls"


PLAIN: Final = QueryHooks()


def report_query(
    request: ReportRequest, dialect: Dialect, hooks: QueryHooks = PLAIN
) -> tuple[str, list[Any]]:
    """SQL and parameters for a report request. The caller handles ``tenants == ()``."""
    p = _Params(dialect)
    desc = request.order == "desc"
    cursor = request.cursor
    lower_op, lower, upper_op, upper = ">=", request.start_ts, "<", request.end_ts
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
    if request.tenants is not None:
        where.append(p.in_list("portfolio", request.tenants))
    if request.users:
        where.append(p.in_list("agent_key", request.users))
    if request.profiles:
        where.append(p.in_list("profile", request.profiles))
    if request.call_types:
        where.append(p.in_list("call_type", request.call_types))
    if request.dispositions:
        where.append(p.in_list("LOWER(disposition)", request.dispositions))
    if request.campaigns:
        where.append(p.in_list("LOWER(campaign_name)", request.campaigns))
    if request.updated_since is not None:
        where.append(f"updated_at >= {p.one(request.updated_since)}")
    if cursor is not None:
        op = "<" if desc else ">"
        ts, row_id = p.add(cursor.answer_ts, cursor.id)
        where.append(f"(answer_ts {op} {ts} OR id {op} {row_id})")
    direction = "DESC" if desc else "ASC"
    sql = (
        f"{hooks.prefix}SELECT {hooks.hint}{SELECT_COLUMNS} FROM {hooks.table(request)} "
        f"WHERE {' AND '.join(where)} ORDER BY answer_ts {direction}, id {direction}"
    )
    if request.limit is not None:
        # One row more than asked, to learn whether a next page exists.
        sql += f" LIMIT {p.one(request.limit + 1)}"
    return sql, p.values
