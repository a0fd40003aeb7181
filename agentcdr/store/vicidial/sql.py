"""The report SQL of the read-only VICIdial adapter (see docs/vicidial.md for the mapping).

One SELECT per source table (``vicidial_log`` for outbound calls, ``vicidial_closer_log`` for
inbound ones, and their ``*_archive`` copies when a range reaches back into them), joined
with ``UNION ALL`` when there is more than one. Every request value travels as a bound
parameter; table and column names come from the constants here or from
``settings.VICIDIAL_LOAN_COLUMNS``.

Times: ``call_date`` is a DATETIME in the dialer's local zone. The SQL filters and orders on
it as stored (so the ``call_date`` index serves both), and returns it as naive local epoch
seconds (``TO_SECONDS``, which involves no time zone); Python turns those into UTC with the
dialer zone's ``ZoneClock`` (``agentcdr.clock``), which is cheaper and more dependable than
the server's time zone tables, often not loaded on dialers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from agentcdr.clock import ZoneClock
from agentcdr.records import ReportRequest
from agentcdr.settings import VICIDIAL_LOAN_COLUMNS
from agentcdr.summary import TIME_KEYS, offset_case, offset_stretches

# TO_SECONDS('1970-01-01 00:00:00'): subtracting it gives seconds since the naive epoch.
TO_SECONDS_EPOCH: Final = 62167219200
# Users that mark a call no agent handled (auto-dial results, inbound drops) or no user.
NO_AGENT_USERS: Final = ("VDAD", "VDCL", "")
# Statuses of a call still in progress (its row will still change).
IN_PROGRESS: Final = ("INCALL", "QUEUE", "DISPO")
# queue_seconds is DECIMAL(7,2): an inbound call is answered at most this long after it
# entered the queue, so its call_date lies at most this far before the requested range.
MAX_QUEUE_SECONDS: Final = 100_000
INBOUND_PREFIX: Final = "in:"

OUTBOUND_TABLES: Final = ("vicidial_log", "vicidial_log_archive")
INBOUND_TABLES: Final = ("vicidial_closer_log", "vicidial_closer_log_archive")
AGENT_LOG_TABLES: Final = ("vicidial_agent_log", "vicidial_agent_log_archive")
# The column whose value identifies a call in each log, for de-duplicating an archive
# against its live table (the archiver copies rows before it deletes them).
_KEY: Final = {"vicidial_log": "uniqueid", "vicidial_closer_log": "closecallid"}


@dataclass(frozen=True)
class Source:
    """One table a report reads, and what it needs to know about its neighbours."""

    table: str
    inbound: bool
    live_table: str | None = None  # set for an archive: skip rows still in the live table


@dataclass(frozen=True)
class Plan:
    """What the store learnt before building the SQL: tables, campaigns, zone."""

    sources: tuple[Source, ...]
    campaign_ids: tuple[str, ...] | None  # None: no campaign restriction
    clock: ZoneClock
    loan_column: str
    agent_log_archive: bool
    users_case_insensitive: bool


class _Params:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def one(self, value: Any) -> str:
        self.values.append(value)
        return "%s"

    def many(self, values: tuple[Any, ...]) -> str:
        self.values.extend(values)
        return ", ".join(["%s"] * len(values))


_SELECT: Final = (
    "id, agent, local_s, disposition, phone_number, loan_number, call_type, duration, "
    "lead_id, term_reason, campaign_name, campaign_group"
)


def _names_and_joins(call: str, campaign: str, loan: str) -> tuple[str, str, tuple[str, str]]:
    """The status-name, loan and campaign expressions and the joins they need.

    Every join is on a primary or unique key (vicidial_campaigns.campaign_id,
    vicidial_list.lead_id, vicidial_statuses.status, vicidial_campaign_statuses
    (status, campaign_id)), so none can multiply a call.
    """
    disposition = (
        f"COALESCE(NULLIF(cs.status_name, ''), NULLIF(s.status_name, ''), {call}.status, '')"
    )
    joins = (
        f"LEFT JOIN vicidial_campaigns vc ON vc.campaign_id = {campaign} "
        f"LEFT JOIN vicidial_list vi ON vi.lead_id = {call}.lead_id "
        "LEFT JOIN vicidial_campaign_statuses cs "
        f"ON cs.status = {call}.status AND cs.campaign_id = {campaign} "
        f"LEFT JOIN vicidial_statuses s ON s.status = {call}.status"
    )
    # loan_number (after phone_number) and the two campaign columns (last).
    columns = (
        f"COALESCE(vi.{loan}, '') AS loan_number",
        "COALESCE(vc.campaign_name, '') AS campaign_name, "
        "COALESCE(vc.user_group, '') AS campaign_group",
    )
    return disposition, joins, columns


def _common_filters(
    alias: str, request: ReportRequest, plan: Plan, p: _Params, start: datetime, end: datetime
) -> list[str]:
    where = [
        f"{alias}.call_date >= {p.one(start)}",
        f"{alias}.call_date < {p.one(end)}",
        f"{alias}.user NOT IN ({p.many(NO_AGENT_USERS)})",
        f"{alias}.end_epoch IS NOT NULL",
        f"COALESCE({alias}.status, '') NOT IN ({p.many(IN_PROGRESS)})",
    ]
    if request.users:
        # The request's names are lower case. VICIdial's tables use the server's default,
        # case-insensitive collation; on a case-sensitive one, compare lower-cased.
        column = f"{alias}.user" if plan.users_case_insensitive else f"LOWER({alias}.user)"
        where.append(f"{column} IN ({p.many(request.users)})")
    return where


def _number_filters(phone: str, plan: Plan, request: ReportRequest, p: _Params) -> list[str]:
    """The phone and loan number searches (exact values)."""
    where = []
    if request.phones:
        where.append(f"{phone} IN ({p.many(request.phones)})")
    if request.loans:
        where.append(f"COALESCE(vi.{plan.loan_column}, '') IN ({p.many(request.loans)})")
    return where


def _archive_filter(source: Source, alias: str) -> list[str]:
    if source.live_table is None:
        return []
    key = _KEY[source.live_table]
    return [f"NOT EXISTS (SELECT 1 FROM {source.live_table} live WHERE live.{key} = {alias}.{key})"]


def _outbound(source: Source, request: ReportRequest, plan: Plan, p: _Params, ordered: bool) -> str:
    start, end = plan.clock.naive(request.start_ts), plan.clock.naive(request.end_ts)
    disposition, joins, (loan, campaign) = _names_and_joins(
        "vl", "vl.campaign_id", plan.loan_column
    )
    select = (
        f"SELECT vl.uniqueid AS id, vl.user AS agent, "
        f"TO_SECONDS(vl.call_date) - {TO_SECONDS_EPOCH} AS local_s, "
        f"{disposition} AS disposition, COALESCE(vl.phone_number, '') AS phone_number, "
        f"{loan}, IF(vl.comments = {p.one('MANUAL')}, {p.one('MANUAL')}, {p.one('DIALER')}) "
        "AS call_type, "
        f"COALESCE(vl.length_in_sec, 0) AS duration, vl.lead_id AS lead_id, "
        f"COALESCE(vl.term_reason, '') AS term_reason, {campaign} "
        f"FROM {source.table} vl {joins}"
    )
    where = _common_filters("vl", request, plan, p, start, end)
    if plan.campaign_ids is not None:
        where.append(f"vl.campaign_id IN ({p.many(plan.campaign_ids)})")
    types = set(request.call_types)
    if types and "MANUAL" not in types:
        where.append(f"NOT (vl.comments <=> {p.one('MANUAL')})")
    elif types and "DIALER" not in types:
        where.append(f"vl.comments = {p.one('MANUAL')}")
    if request.dispositions:
        where.append(f"LOWER({disposition}) IN ({p.many(request.dispositions)})")
    where += _number_filters("COALESCE(vl.phone_number, '')", plan, request, p)
    if request.cursor is not None:
        at = plan.clock.naive(request.cursor.answer_ts)
        where.append(_after_cursor("vl.call_date", "vl.uniqueid", at, request, p))
    where += _archive_filter(source, "vl")
    sql = f"{select} WHERE {' AND '.join(where)}"
    if ordered:
        # Ordering by the table's own columns lets MariaDB sort vicidial_log before the
        # joins, and stop joining once the limit is reached.
        sql += _order_limit("vl.call_date", "vl.uniqueid", request, p)
    return sql


def _after_cursor(
    at_column: str, id_column: str, at: object, request: ReportRequest, p: _Params
) -> str:
    """The rows after the request's cursor in its order: answered later (earlier, newest
    first) than the cursor's call, or at the same time with a greater (smaller) id."""
    assert request.cursor is not None
    op = "<" if request.order == "desc" else ">"
    return (
        f"({at_column} {op} {p.one(at)} OR ({at_column} = {p.one(at)} "
        f"AND {id_column} {op} {p.one(str(request.cursor.id))}))"
    )


def _agent_campaign(plan: Plan) -> str:
    """The campaign the agent was logged into when taking an inbound call.

    A scalar subquery (newest matching agent-log row) rather than a join: an agent can
    have several vicidial_agent_log rows for one call, and a join would repeat the call.
    The lookup starts from ``lead_id``, the indexed column of the key VICIdial uses.
    """
    lookups = [
        f"(SELECT val.campaign_id FROM {table} val WHERE val.lead_id = vcl.lead_id "
        "AND val.uniqueid = vcl.uniqueid AND val.user = vcl.user "
        "ORDER BY val.agent_log_id DESC LIMIT 1)"
        for table in AGENT_LOG_TABLES[: 2 if plan.agent_log_archive else 1]
    ]
    return lookups[0] if len(lookups) == 1 else f"COALESCE({', '.join(lookups)})"


def _inbound(source: Source, request: ReportRequest, plan: Plan, p: _Params, ordered: bool) -> str:
    start, end = plan.clock.naive(request.start_ts), plan.clock.naive(request.end_ts)
    # Parameters are bound in text order, and the outer SELECT list stands first.
    call_type = p.one("INBOUND")
    # The agent answered queue_seconds after the call entered the queue (call_date).
    answered = (
        f"CAST(TO_SECONDS(vcl.call_date) - {TO_SECONDS_EPOCH} "
        "+ FLOOR(COALESCE(vcl.queue_seconds, 0)) AS SIGNED)"
    )
    inner_where = _common_filters(
        "vcl", request, plan, p, start - timedelta(seconds=MAX_QUEUE_SECONDS), end
    )
    inner_where += _archive_filter(source, "vcl")
    inner = (
        f"SELECT CONCAT('{INBOUND_PREFIX}', vcl.closecallid) AS id, vcl.user AS agent, "
        f"vcl.status, vcl.lead_id, {answered} AS local_s, "
        "COALESCE(vcl.phone_number, '') AS phone_number, "
        "CAST(GREATEST(COALESCE(vcl.length_in_sec, 0) "
        "- FLOOR(COALESCE(vcl.queue_seconds, 0)), 0) AS SIGNED) AS duration, "
        "COALESCE(vcl.term_reason, '') AS term_reason, "
        f"{_agent_campaign(plan)} AS campaign_id "
        f"FROM {source.table} vcl WHERE {' AND '.join(inner_where)}"
    )
    disposition, joins, (loan, campaign) = _names_and_joins("x", "x.campaign_id", plan.loan_column)
    where = [
        f"x.local_s >= {p.one(plan.clock.local_seconds(request.start_ts))}",
        f"x.local_s < {p.one(plan.clock.local_seconds(request.end_ts))}",
    ]
    if plan.campaign_ids is not None:
        where.append(f"x.campaign_id IN ({p.many(plan.campaign_ids)})")
    if request.dispositions:
        where.append(f"LOWER({disposition}) IN ({p.many(request.dispositions)})")
    where += _number_filters("x.phone_number", plan, request, p)
    if request.cursor is not None:
        at = plan.clock.local_seconds(request.cursor.answer_ts)
        where.append(_after_cursor("x.local_s", "x.id", at, request, p))
    sql = (
        f"SELECT x.id, x.agent, x.local_s, {disposition} AS disposition, x.phone_number, "
        f"{loan}, {call_type} AS call_type, x.duration, x.lead_id, x.term_reason, {campaign} "
        f"FROM ({inner}) x {joins} WHERE {' AND '.join(where)}"
    )
    if ordered:
        sql += _order_limit("x.local_s", "x.id", request, p)
    return sql


def _order_limit(time_key: str, id_key: str, request: ReportRequest, p: _Params) -> str:
    direction = "DESC" if request.order == "desc" else "ASC"
    sql = f" ORDER BY {time_key} {direction}, {id_key} {direction}"
    if request.limit is not None:
        # One row more than asked, to learn whether a next page exists.
        sql += f" LIMIT {p.one(request.limit + 1)}"
    return sql


def report_sql(request: ReportRequest, plan: Plan) -> tuple[str, list[Any]]:
    """The report's SQL (columns as ``_SELECT``) and its parameters, in text order."""
    if plan.loan_column not in VICIDIAL_LOAN_COLUMNS:
        raise ValueError(f"loan column not in the whitelist: {plan.loan_column!r}")
    single = len(plan.sources) == 1
    parts: list[str] = []
    values: list[Any] = []
    for source in plan.sources:
        p = _Params()
        build = _inbound if source.inbound else _outbound
        sql = build(source, request, plan, p, ordered=single or request.limit is not None)
        parts.append(sql if single else f"({sql})")
        values += p.values
    if single:
        return parts[0], values
    # Each branch is sorted and cut to the limit on its own, so the union stays small.
    p = _Params()
    tail = _order_limit("local_s", "id", request, p)
    sql = f"SELECT {_SELECT} FROM ({' UNION ALL '.join(parts)}) u{tail}"
    return sql, values + p.values


# The columns of the report's SELECT that each summary key groups by; portfolio and profile
# are derived from the campaign (name and user group) after grouping.
_SUMMARY_COLUMNS: Final = {
    "user": ("agent",),
    "disposition": ("disposition",),
    "call_type": ("call_type",),
    "term_reason": ("term_reason",),
    "campaign_name": ("campaign_name",),
    "portfolio": ("campaign_name", "campaign_group"),
    "profile": ("campaign_name", "campaign_group"),
    "day": ("{local} DIV 86400",),
    "hour": ("MOD({local} DIV 3600, 24)",),
}


def _report_local(request: ReportRequest, plan: Plan) -> str:
    """The answer time as seconds of the report zone's wall clock.

    ``local_s`` counts the dialer's wall-clock seconds: in the report zone already when the
    two zones are one. Otherwise it goes to UTC and on to the report zone through the
    zones' offset stretches (integers from the zone rules), the dialer's read with the
    documented rule (a repeated wall time is its first occurrence).
    """
    if plan.clock.tz.key == request.tz.key:
        return "local_s"
    dialer = offset_stretches(plan.clock.tz, request.start_ts, request.end_ts)
    # On the dialer's wall clock a stretch ends where the next begins, at the later of the
    # two readings of that instant: a repeated hour (autumn) and a skipped one (spring) both
    # take the offset before the change.
    walls = [(0, dialer[0][1])] + [
        (begin + max(offset, previous), offset)
        for (begin, offset), (_, previous) in zip(dialer[1:], dialer, strict=False)
    ]
    utc = f"(local_s - {offset_case('local_s', walls)})"
    report = offset_stretches(request.tz, request.start_ts, request.end_ts)
    return f"({utc} + {offset_case(utc, report)})"


def summary_sql(
    request: ReportRequest, plan: Plan, group_by: tuple[str, ...]
) -> tuple[str, list[Any], list[tuple[int, ...]]]:
    """The summary's SQL over the report's own SELECTs (unordered), its parameters, and for
    each key the positions of its grouped columns in a result row."""
    parts: list[str] = []
    values: list[Any] = []
    unlimited = replace(request, limit=None, cursor=None)
    for source in plan.sources:
        p = _Params()
        build = _inbound if source.inbound else _outbound
        parts.append(f"({build(source, unlimited, plan, p, ordered=False)})")
        values += p.values
    columns: list[str] = []
    positions = []
    local = _report_local(request, plan) if TIME_KEYS & set(group_by) else ""
    for key in group_by:
        where = []
        for template in _SUMMARY_COLUMNS[key]:
            column = template.format(local=local)
            if column not in columns:
                columns.append(column)
            where.append(columns.index(column))
        positions.append(tuple(where))
    ordinals = ", ".join(str(n) for n in range(1, len(columns) + 1))
    sql = (
        f"SELECT {', '.join(columns)}, COUNT(*), SUM(duration), MAX(duration) "
        f"FROM ({' UNION ALL '.join(parts)}) u GROUP BY {ordinals}"
    )
    return sql, values, positions
