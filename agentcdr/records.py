"""The call record and the report request: plain data, no I/O.

Stores yield calls as plain tuples in the order of ``ROW_COLUMNS`` (tuples are several times
cheaper than objects on the hot path of a multi-million-row report); ``CallRecord`` is the
typed form used by import, demo data and the client.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

# The order of the values in a row tuple as every store yields it.
ROW_COLUMNS: Final = (
    "id",  # the store's tie-breaker key (int or str), used for ordering and cursors
    "call_id",
    "user",
    "answer_ts",  # UTC epoch seconds (int)
    "disposition",
    "phone_number",
    "loan_number",
    "call_type",
    "call_duration_sec",
    "lead_id",
    "term_reason",
    "portfolio",
    "campaign_name",
    "profile",
)
COL: Final = {name: index for index, name in enumerate(ROW_COLUMNS)}

Row = tuple[Any, ...]

# The documented report columns, in the order of the API document.
DEFAULT_FIELDS: Final = (
    "user",
    "answer_time",
    "disposition",
    "phone_number",
    "loan_number",
    "call_type",
    "call_duration",
    "lead_id",
    "term_reason",
    "portfolio",
    "campaign_name",
)
# Extra columns a caller may pick with ``fields``.
EXTRA_FIELDS: Final = ("call_duration_sec", "profile", "call_id")
ALL_FIELDS: Final = DEFAULT_FIELDS + EXTRA_FIELDS
NUMERIC_FIELDS: Final = frozenset({"lead_id", "call_duration_sec"})

CALL_TYPES: Final = ("MANUAL", "DIALER", "INBOUND")


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
        """The values in ``ROW_COLUMNS`` order, without the store id."""
        return self[:13]


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
    updated_since: int | None = None  # UTC epoch seconds
    order: str = "desc"
    limit: int | None = None
    cursor: Cursor | None = None
    fields: tuple[str, ...] = DEFAULT_FIELDS
    warnings: list[str] = field(default_factory=list)
