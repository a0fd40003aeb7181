"""Raw HTTP parameters -> a validated ``ReportRequest``. Pure functions, no I/O.

The checks run in the order the contract fixes (responsetype, credentials, tenant scope, then
the other parameters), so nobody learns anything about parameters without valid credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final
from zoneinfo import ZoneInfo

from agentcdr.clock import ZoneClock, loop_clock, zone
from agentcdr.errors import CommandNotFound, Forbidden, InvalidValue, MissingParameter, shown
from agentcdr.paging import decode_cursor
from agentcdr.records import (
    ALL_FIELDS,
    CALL_TYPES,
    DEFAULT_FIELDS,
    TENANT_CODE,
    ApiUser,
    ReportRequest,
)
from agentcdr.summary import GROUP_KEYS, MAX_GROUP_KEYS

REPORT: Final = "agent_cdr"
SUMMARY: Final = "agent_cdr_summary"
ACTIONS: Final = (REPORT, SUMMARY)
RESPONSE_TYPES: Final = ("json", "xml", "csv", "ndjson", "xlsx")
# What each action answers in (a summary is small and for screens and BI: no Excel file).
ACTION_TYPES: Final = {REPORT: RESPONSE_TYPES, SUMMARY: ("json", "xml", "csv", "ndjson")}
LIST_PARAMS: Final = frozenset(
    {
        "user",
        "tenant",
        "profile",
        "disposition",
        "call_type",
        "campaign_name",
        "phone_number",
        "loan_number",
        "fields",
        "groupBy",
    }
)
SCALAR_PARAMS: Final = frozenset(
    {
        "goAction",
        "goUser",
        "goPass",
        "responsetype",
        "fromDate",
        "toDate",
        "limit",
        "cursor",
        "order",
        "tz",
        "updatedSince",
        "csvFormulas",
    }
)
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[(\d*)\]$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", re.ASCII)
_LIMIT_MAX: Final = 1_000_000
# What one request may carry (docs/api.md, "Limits"). The body's size is a setting
# (max_body_bytes) and is checked before anything is parsed; these bound what it holds.
MAX_PARAMETERS: Final = 1000  # name=value pairs in the query string, and in the body
MAX_VALUE_CHARS: Final = 65_536  # one value (a comma list of 1,000 user names fits)
MAX_LIST_ITEMS: Final = 1000  # items of one list parameter (every item is a bound parameter)

Raw = dict[str, list[str]]


def collect(items: Iterable[tuple[str, Any]], where: str = "query") -> Raw:
    """Group parameters by base name, accepting every list form clients send.

    ``user[]=a``, ``user[0]=a``, repeated ``user=a`` and ``user=a,b`` all land in ``user``;
    a JSON array value is taken item by item (a JSON number as its text, null as empty).
    ``where`` (query or body) is what an error names when there are too many parameters.
    """
    raw: Raw = {}
    count = 0
    for key, value in items:
        match = _KEY.match(key)
        name = match.group(1) if match else key
        values = value if isinstance(value, list) else [value]
        count += len(values)
        if count > MAX_PARAMETERS:
            raise InvalidValue(
                where, f"more than {MAX_PARAMETERS} parameters; the limit is {MAX_PARAMETERS}"
            )
        raw.setdefault(name, []).extend(_text(name, v) for v in values)
    return raw


def _text(name: str, value: object) -> str:
    """One parameter value as text: a string, or a JSON number or null."""
    if isinstance(value, str):
        text = value
    elif value is None:
        text = ""
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
    else:  # never stringified into a filter
        kind = (
            "an object"
            if isinstance(value, dict)
            else "an array in an array"
            if isinstance(value, list)
            else "true or false"
        )
        raise InvalidValue(_label(name), f"{kind} in JSON; expected a string or a list of strings")
    if len(text) > MAX_VALUE_CHARS:
        raise InvalidValue(
            _label(name),
            f"longer than {MAX_VALUE_CHARS} characters; the limit is {MAX_VALUE_CHARS}",
        )
    return text


def _label(name: str) -> str:
    """A parameter's name as a message shows it: quoted and cut short unless it is ours."""
    return name if name in LIST_PARAMS or name in SCALAR_PARAMS else shown(name)


def _checked(name: str, value: str) -> str:
    # No database takes a NUL in text (PostgreSQL refuses it outright): a client's mistake,
    # caught here, where every value is read, before any store sees it.
    if "\x00" in value:
        raise InvalidValue(name, "contains a NUL character")
    return value


def merge(query: Raw, body: Raw) -> Raw:
    """Query and body parameters; a body value wins over a query value of the same name."""
    return {**query, **body}


def scalar(raw: Raw, name: str) -> str | None:
    values = raw.get(name)
    if not values:
        return None
    return _checked(name, values[-1].strip())  # like PHP, the last of repeated scalars wins


def _exact(raw: Raw, name: str) -> str | None:
    values = raw.get(name)
    return _checked(name, values[-1]) if values else None


def listed(raw: Raw, name: str) -> tuple[str, ...]:
    """A list parameter's items: comma lists split, blanks dropped, duplicates removed."""
    items: dict[str, None] = {}
    for value in raw.get(name, ()):
        for item in _checked(name, value).split(","):
            stripped = item.strip()
            if stripped:
                items[stripped] = None
                if len(items) > MAX_LIST_ITEMS:
                    raise InvalidValue(
                        name, f"more than {MAX_LIST_ITEMS} items; the limit is {MAX_LIST_ITEMS}"
                    )
    return tuple(items)


def action(raw: Raw) -> str:
    """``goAction``: the report or its summary, else ``Command Not Found``."""
    value = scalar(raw, "goAction")
    if value not in ACTIONS:
        raise CommandNotFound()
    return value


def response_type(raw: Raw, for_action: str = REPORT) -> str:
    value = scalar(raw, "responsetype")
    if not value:
        raise MissingParameter("responsetype")
    lowered = value.lower()
    allowed = ACTION_TYPES[for_action]
    if lowered not in allowed:
        raise InvalidValue(
            "responsetype", f"{shown(value)}; allowed values are {', '.join(allowed)}"
        )
    return lowered


def group_by(raw: Raw) -> tuple[str, ...]:
    """The summary's ``groupBy``: one or two keys of ``summary.GROUP_KEYS``."""
    keys = tuple(dict.fromkeys(k.lower() for k in listed(raw, "groupBy")))
    if not keys:
        raise MissingParameter("groupBy")
    allowed = ", ".join(GROUP_KEYS)
    unknown = [k for k in keys if k not in GROUP_KEYS]
    if unknown:
        raise InvalidValue(
            "groupBy", f"unknown key {shown(unknown[0])}; allowed values are {allowed}"
        )
    if len(keys) > MAX_GROUP_KEYS:
        raise InvalidValue("groupBy", f"{len(keys)} keys; a summary is grouped by one or two")
    return keys


def error_format(raw: Raw) -> str:
    """The format errors are answered in: XML when responsetype is xml, otherwise JSON."""
    return "xml" if (scalar(raw, "responsetype") or "").lower() == "xml" else "json"


def credentials(raw: Raw, basic: tuple[str, str] | None) -> tuple[str, str]:
    """The user name and password exactly as sent (not stripped: a blank is part of a
    password, and ``'ops '`` is not the user ``ops``)."""
    user, password = _exact(raw, "goUser"), _exact(raw, "goPass")
    if not user and not password and basic is not None:
        return basic
    if not user:
        raise MissingParameter("goUser")
    if not password:
        raise MissingParameter("goPass")
    return user, password


def tenant_scope(raw: Raw, user: ApiUser) -> tuple[str, ...] | None:
    """The tenants this request may see, after checking every requested tenant."""
    requested = []
    for value in listed(raw, "tenant"):
        if not TENANT_CODE.match(value):
            raise InvalidValue("tenant", f"{shown(value)} is not a 3-character tenant code")
        requested.append(value.upper())
    requested = list(dict.fromkeys(requested))
    if not user.all_tenants:
        denied = [t for t in requested if t not in user.tenants]
        if denied:
            raise Forbidden(f"Not allowed to see tenant {', '.join(denied)}")
        if not requested:
            return tuple(sorted(user.tenants))
    return tuple(requested) if requested else None


@dataclass(frozen=True)
class Limits:
    """The deployment's side of the request rules."""

    tz: ZoneInfo
    max_span_days: int


def _date(raw: Raw, name: str) -> date | None:
    value = scalar(raw, name)
    if value is None or value == "":
        return None
    if not _DATE.match(value):
        raise InvalidValue(name, f"{shown(value)} is not a date of the form YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidValue(name, f"{shown(value)} is not a valid date") from None


def date_range(raw: Raw, clock: ZoneClock, max_span: int, now: float) -> tuple[int, int]:
    """``[start, end)`` in UTC epoch seconds from fromDate/toDate and the contract's rules."""
    start_day, end_day = _date(raw, "fromDate"), _date(raw, "toDate")
    now_ts = int(now)
    if start_day is None and end_day is None:
        return now_ts - 86400, now_ts + 1
    if end_day is None:
        assert start_day is not None
        today = clock.day(now_ts)
        span = (today - start_day).days + 1
        if span > max_span:
            raise InvalidValue(
                "fromDate", f"the range through today spans {span} days; the maximum is {max_span}"
            )
        return clock.instant(start_day), now_ts + 1
    if start_day is None:
        start_day = end_day
    if start_day > end_day:
        raise InvalidValue("fromDate", f"{start_day} is after toDate {end_day}")
    span = (end_day - start_day).days + 1
    if span > max_span:
        raise InvalidValue("toDate", f"the range spans {span} days; the maximum is {max_span}")
    # The end is toDate's 24:00 (not the next day's midnight: 9999-12-31 has no next day).
    return clock.instant(start_day), clock.instant(end_day, 86400)


def _fields(raw: Raw) -> tuple[str, ...]:
    chosen = listed(raw, "fields")
    if not chosen:
        return DEFAULT_FIELDS
    lowered = tuple(f.lower() for f in chosen)
    unknown = [f for f in lowered if f not in ALL_FIELDS]
    if unknown:
        raise InvalidValue(
            "fields", f"unknown field {shown(unknown[0])}; available: {', '.join(ALL_FIELDS)}"
        )
    if len(set(lowered)) != len(lowered):
        raise InvalidValue("fields", "a field is named twice")
    return lowered


def _limit(raw: Raw) -> int | None:
    value = scalar(raw, "limit")
    if value is None or value == "":
        return None
    # ASCII digits, and few of them: int() also reads other scripts' digits, and refuses
    # more than 4,300 digits with an error of its own.
    if not (value.isascii() and value.isdigit() and len(value) <= 7) or not (
        1 <= int(value) <= _LIMIT_MAX
    ):
        raise InvalidValue(
            "limit", f"{shown(value)}; expected a whole number from 1 to {_LIMIT_MAX}"
        )
    return int(value)


def _tz(raw: Raw, default: ZoneInfo) -> ZoneInfo:
    value = scalar(raw, "tz")
    if not value:
        return default
    try:
        return zone(value)
    except ValueError:
        raise InvalidValue("tz", f"{shown(value)} is not an IANA time-zone name") from None


def _call_types(raw: Raw) -> tuple[str, ...]:
    values = tuple(v.upper() for v in listed(raw, "call_type"))
    for value in values:
        if value not in CALL_TYPES:
            raise InvalidValue(
                "call_type", f"{shown(value)}; allowed values are {', '.join(CALL_TYPES)}"
            )
    return values


# The parameters of one action only; the other ignores them and says so in meta.warnings.
_ONLY_FOR: Final = {
    "groupBy": SUMMARY,
    "limit": REPORT,
    "cursor": REPORT,
    "order": REPORT,
    "fields": REPORT,
}


def _warnings(raw: Raw, for_action: str) -> list[str]:
    warnings = []
    for name in sorted(raw):
        if name not in LIST_PARAMS and name not in SCALAR_PARAMS:
            warnings.append(f"ignored unknown parameter {shown(name)}")
        elif _ONLY_FOR.get(name, for_action) != for_action:
            warnings.append(f"ignored parameter {name!r}: it is for {_ONLY_FOR[name]} only")
    return warnings


def build_request(
    raw: Raw, tenants: tuple[str, ...] | None, limits: Limits, now: float, action: str = REPORT
) -> ReportRequest:
    """The rest of the parameters, after credentials and tenant scope have passed. A
    summary's request has the report's range and filters, and no paging, order or fields."""
    tz = _tz(raw, limits.tz)
    clock = loop_clock(tz)
    start, end = date_range(raw, clock, limits.max_span_days, now)
    report = action == REPORT
    order = (scalar(raw, "order") or "desc").lower() if report else "desc"
    if order not in ("asc", "desc"):
        raise InvalidValue("order", f"{shown(order)}; allowed values are asc, desc")
    updated = scalar(raw, "updatedSince")
    updated_since = None
    if updated:
        if not _STAMP.match(updated):
            raise InvalidValue("updatedSince", f"{shown(updated)}; expected YYYY-MM-DD HH:MM:SS")
        try:
            updated_since = clock.from_text(updated)
        except ValueError:
            raise InvalidValue("updatedSince", f"{shown(updated)} is not a valid time") from None
    cursor_text = scalar(raw, "cursor")
    return ReportRequest(
        start_ts=start,
        end_ts=end,
        tz=tz,
        users=tuple(dict.fromkeys(u.lower() for u in listed(raw, "user"))),
        tenants=tenants,
        profiles=tuple(dict.fromkeys(p.upper() for p in listed(raw, "profile"))),
        dispositions=tuple(dict.fromkeys(d.lower() for d in listed(raw, "disposition"))),
        call_types=_call_types(raw),
        campaigns=tuple(dict.fromkeys(c.lower() for c in listed(raw, "campaign_name"))),
        phones=listed(raw, "phone_number"),
        loans=listed(raw, "loan_number"),
        updated_since=updated_since,
        order=order,
        limit=_limit(raw) if report else None,
        cursor=decode_cursor(cursor_text, order) if cursor_text and report else None,
        fields=_fields(raw) if report else DEFAULT_FIELDS,
        warnings=_warnings(raw, action),
    )


def describe(request: ReportRequest) -> dict[str, Any]:
    """``data.meta``: what is actually being served, every key in its place.

    ``row_count`` is 0 here: it is the page's to fill in once its rows were read
    (``paging.Page.meta``). The request describes itself here, beside the rules that
    normalised it, so paging and the encoders need nothing of them.
    """
    filters: dict[str, Any] = {}
    for key, value in (
        ("user", request.users),
        ("tenant", request.tenants),
        ("profile", request.profiles),
        ("disposition", request.dispositions),
        ("call_type", request.call_types),
        ("campaign_name", request.campaigns),
        ("phone_number", request.phones),
        ("loan_number", request.loans),
    ):
        if value:
            filters[key] = list(value)
    if request.tenants == ():
        filters["tenant"] = []
    clock = loop_clock(request.tz)
    if request.updated_since is not None:
        filters["updatedSince"] = clock.text(request.updated_since)
    meta: dict[str, Any] = {
        "from": clock.text(request.start_ts),
        "to": clock.text(max(request.end_ts - 1, request.start_ts)),
        "timezone": request.tz.key,
        "order": request.order,
        "filters": filters,
    }
    if request.limit is not None:
        meta["limit"] = request.limit
    meta["row_count"] = 0
    meta["warnings"] = list(request.warnings)
    return meta


def from_mapping(values: Mapping[str, Any]) -> Raw:
    """A JSON request body (an object) as raw parameters."""
    return collect(values.items(), "body")


CSV_FORMULAS: Final = ("keep", "neutralize")


def csv_formulas(raw: Raw) -> bool:
    """``csvFormulas``: ``neutralize`` (True) makes CSV text cells that start like a
    spreadsheet formula start with ``'``; ``keep`` (the default) leaves them data, as sent."""
    value = (scalar(raw, "csvFormulas") or "keep").lower()
    if value not in CSV_FORMULAS:
        raise InvalidValue(
            "csvFormulas", f"{shown(value)}; allowed values are {', '.join(CSV_FORMULAS)}"
        )
    return value == "neutralize"
