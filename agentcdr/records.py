"""The call record and the report request: plain data, no I/O.

Stores yield calls as plain tuples in the order of ``ROW_COLUMNS`` (tuples are several times
cheaper than objects on the hot path of a multi-million-row report); ``CallRecord`` is the
typed form used by import, demo data and the client.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Column:
    """One value of a call, as the record, the store's table and import know it.

    The one table of them (``COLUMNS``) is where the SQL column lists, the placeholders, the
    ingest limits, the report fields, the client's row type and the Parquet types come from.
    ``width`` is the text column's length in the schema (migrations are history and never
    change; a test checks that the live schema agrees with this table).
    """

    name: str  # the CallRecord field
    store: str  # the column of the calls table
    kind: str  # "text", "int" (32 bits) or "bigint"
    width: int = 0  # characters, for text
    nullable: bool = False

    @property
    def integer(self) -> bool:
        return self.kind != "text"


COLUMNS: Final = (
    Column("call_id", "call_id", "text", 64),
    Column("user", "agent", "text", 64),
    Column("answer_ts", "answer_ts", "bigint"),  # UTC epoch seconds
    Column("disposition", "disposition", "text", 100),
    Column("phone_number", "phone_number", "text", 32),
    Column("loan_number", "loan_number", "text", 100),
    Column("call_type", "call_type", "text", 16),
    Column("call_duration_sec", "duration_sec", "int"),
    Column("lead_id", "lead_id", "bigint", nullable=True),
    Column("term_reason", "term_reason", "text", 32),
    Column("portfolio", "portfolio", "text", 3),
    Column("campaign_name", "campaign_name", "text", 100),
    Column("profile", "profile", "text", 100),
)
COLUMN: Final = {c.name: c for c in COLUMNS}

# The order of the values in a row tuple as every store yields it: the store's tie-breaker
# key (int or str, used for ordering and cursors), then the columns.
ROW_COLUMNS: Final = ("id", *(c.name for c in COLUMNS))
COL: Final = {name: index for index, name in enumerate(ROW_COLUMNS)}

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Field:
    """A column of the report: the column it shows and how (``time``: the answer instant as
    wall-clock text; ``duration``: seconds as HH:MM:SS; ``value``: as stored)."""

    name: str
    column: str
    show: str = "value"

    @property
    def numeric(self) -> bool:
        """A JSON number (else a string)."""
        return self.show == "value" and COLUMN[self.column].integer


# The documented report columns, in the order of the API document, then the extra columns a
# caller may pick with ``fields``.
FIELDS: Final = (
    Field("user", "user"),
    Field("answer_time", "answer_ts", "time"),
    Field("disposition", "disposition"),
    Field("phone_number", "phone_number"),
    Field("loan_number", "loan_number"),
    Field("call_type", "call_type"),
    Field("call_duration", "call_duration_sec", "duration"),
    Field("lead_id", "lead_id"),
    Field("term_reason", "term_reason"),
    Field("portfolio", "portfolio"),
    Field("campaign_name", "campaign_name"),
    Field("call_duration_sec", "call_duration_sec"),
    Field("profile", "profile"),
    Field("call_id", "call_id"),
)
FIELD: Final = {f.name: f for f in FIELDS}
DEFAULT_FIELDS: Final = tuple(f.name for f in FIELDS[:11])
EXTRA_FIELDS: Final = tuple(f.name for f in FIELDS[11:])
ALL_FIELDS: Final = DEFAULT_FIELDS + EXTRA_FIELDS
NUMERIC_FIELDS: Final = frozenset(f.name for f in FIELDS if f.numeric)

CALL_TYPES: Final = ("MANUAL", "DIALER", "INBOUND")
# A tenant (portfolio) code, as the API's tenant filter and the users' scopes take it.
TENANT_CODE: Final = re.compile(r"^[A-Za-z0-9]{3}$")


def header_title(field: str) -> str:
    return field.upper().replace("_", " ")


def column_headers(fields: Sequence[str]) -> list[dict[str, str]]:
    """The ``headers`` of a JSON or XML report: Tabulator column definitions, as the original
    API sends them (``formatter: "html"`` included; docs/api.md says what a page must do)."""
    return [{"title": header_title(f), "field": f, "formatter": "html"} for f in fields]


def profile_of(campaign_name: str, portfolio: str) -> str:
    """The default profile: the campaign name without its leading portfolio code."""
    if campaign_name[:3].upper() == portfolio.upper():
        return campaign_name[3:].upper()
    return campaign_name.upper()


def natural_key(
    user: str, answer_ts: int, phone_number: str, lead_id: int | None, campaign_name: str
) -> str:
    """The identity of a call that came without an id: ``nk:`` + 32 hex digits of a BLAKE2b
    hash of who took it, the instant (UTC epoch seconds), the number, the lead and the
    campaign.

    One recipe for every way calls come in (import, demo data, sync), and from values that do
    not depend on any time zone: the same call gets the same key however it arrives, so
    writing it again changes nothing. The recipe is part of the stored data: changing it
    would duplicate every call written again (a migration would have to rewrite the keys).
    """
    lead = "" if lead_id is None else str(lead_id)
    text = f"{user}\x1f{answer_ts}\x1f{phone_number}\x1f{lead}\x1f{campaign_name}"
    return "nk:" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class CallRecord(NamedTuple):
    """One call an agent handled, as a store keeps it.

    A named tuple rather than a frozen dataclass: imports build one per row, and a frozen
    dataclass costs several times as much to create (its __init__ sets each field through
    ``object.__setattr__``).
    """

    call_id: str
    user: str
    answer_ts: int
    disposition: str
    phone_number: str
    loan_number: str
    call_type: str
    call_duration_sec: int
    lead_id: int | None
    term_reason: str
    portfolio: str
    campaign_name: str
    profile: str
    source: str = ""

    def values(self) -> tuple[Any, ...]:
        """The values in ``COLUMNS`` order (a row without the store id)."""
        return self[: len(COLUMNS)]


@dataclass(frozen=True)
class ApiUser:
    """Who a request is from: an API user (or a VICIdial user) and the tenants it may see."""

    name: str
    password_hash: str
    all_tenants: bool
    tenants: frozenset[str]
    active: bool
    version: int  # bumped on every change; cached credentials are keyed on it


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the last row's answer time and store id."""

    answer_ts: int
    id: int | str


@dataclass(slots=True)
class ReportRequest:
    """A validated agent_cdr request. Filters are normalised; empty tuple = no filter.

    ``tenants`` is already intersected with the caller's scope: ``None`` means every
    tenant, an empty tuple means none at all (the report is empty).
    """

    start_ts: int  # inclusive, UTC epoch seconds
    end_ts: int  # exclusive
    tz: ZoneInfo
    users: tuple[str, ...] = ()  # lower case
    tenants: tuple[str, ...] | None = None  # upper case
    profiles: tuple[str, ...] = ()  # upper case
    dispositions: tuple[str, ...] = ()  # lower case
    call_types: tuple[str, ...] = ()  # upper case
    campaigns: tuple[str, ...] = ()  # lower case
    phones: tuple[str, ...] = ()  # exact
    loans: tuple[str, ...] = ()  # exact
    updated_since: int | None = None  # UTC epoch seconds
    order: str = "desc"
    limit: int | None = None
    cursor: Cursor | None = None
    fields: tuple[str, ...] = DEFAULT_FIELDS
    warnings: list[str] = field(default_factory=list)
