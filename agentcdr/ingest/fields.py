"""One imported row (its values as text) -> the validated values a store writes.

Every reader turns its rows into lists of strings and hands them to a builder made for its
column layout. The builder is the per-row hot path of an import, so a value seen before
takes one dictionary look-up, and a row with anything new takes the full check, which
either accepts it or explains what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from agentcdr.clock import ZoneClock, clock_seconds
from agentcdr.errors import shown
from agentcdr.records import (
    CALL_TYPES,
    COLUMNS,
    DEFAULT_FIELDS,
    natural_key,
    profile_of,
)

# The report fields a file must have; the duration may come as either of two columns.
REQUIRED: Final = tuple(f for f in DEFAULT_FIELDS if f != "call_duration")
DURATIONS: Final = ("call_duration", "call_duration_sec")
OPTIONAL: Final = ("profile", "call_id")
KNOWN: Final = frozenset(REQUIRED + DURATIONS + OPTIONAL)

# Column widths of the store's schema: longer values would fail on PostgreSQL or MariaDB.
# (call_type and portfolio are checked against their few valid values instead.)
LIMITS: Final = {
    c.name: c.width for c in COLUMNS if not c.integer and c.name not in ("call_type", "portfolio")
}
_MAX_BIGINT: Final = 2**63 - 1
_MAX_INT: Final = 2**31 - 1  # duration_sec is a 32-bit INTEGER on PostgreSQL
_NULLS: Final = frozenset({"null", "\\n", "none"})

# One row's values as text -> the values a store writes (``store.sql.rows.WRITE_COLUMNS``).
Builder = Callable[[Sequence[str]], tuple[Any, ...]]


class BadValue(Exception):
    """A value is wrong; the reader adds the file name and line number."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def _call_type(text: str) -> str:
    value = text.strip().upper()
    if value not in CALL_TYPES:
        raise BadValue("call_type", f"must be one of {', '.join(CALL_TYPES)}, got {shown(text)}")
    return value


def _portfolio(text: str) -> str:
    value = text.strip()
    if len(value) != 3 or not value.isascii() or not value.isalnum():
        raise BadValue("portfolio", f"must be exactly 3 letters or digits, got {shown(text)}")
    return value.upper()


def _whole(text: str, field: str, maximum: int) -> int:
    value = text.strip()
    if value.startswith("-") and value[1:].isdigit():
        raise BadValue(field, f"must not be negative, got {shown(text)}")
    if not value.isascii() or not value.isdigit():
        raise BadValue(field, f"must be a whole number, got {shown(text)}")
    number = int(value)
    if number > maximum:
        raise BadValue(field, f"is too large: {value}")
    return number


def _lead_id(text: str) -> int | None:
    if not text.strip() or text.strip().lower() in _NULLS:
        return None
    return _whole(text, "lead_id", _MAX_BIGINT)


def _clock_duration(text: str) -> int:
    """``HH:MM:SS`` with any number of hours (``25:00:07``)."""
    value = text.strip()
    if value.startswith("-"):
        raise BadValue("call_duration", f"must not be negative, got {shown(text)}")
    parts = value.split(":")
    if (
        len(parts) != 3
        or not all(p.isascii() and p.isdigit() for p in parts)
        or len(parts[1]) != 2
        or len(parts[2]) != 2
        or int(parts[1]) > 59
        or int(parts[2]) > 59
    ):
        raise BadValue("call_duration", f"expected HH:MM:SS, got {shown(text)}")
    seconds = int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2])
    if seconds > _MAX_INT:
        raise BadValue("call_duration", f"is too large: {value}")
    return seconds


def _unstorable(values: Mapping[str, str]) -> None:
    """Raises for the first value no store can keep: too long, or holding a NUL (which
    PostgreSQL refuses in text and the others would keep as a cut-short string in places)."""
    for field, value in values.items():
        if "\x00" in value:
            raise BadValue(field, "contains a NUL character")
        if len(value) > LIMITS[field]:
            raise BadValue(field, f"is longer than {LIMITS[field]} characters")


_CACHED: Final = 4096  # distinct values a builder remembers per column


def _positions(index: Mapping[str, int]) -> tuple[Any, ...]:
    """Where a row's values stand: every ``REQUIRED`` field, then ``DURATIONS`` and
    ``OPTIONAL`` ones (None where the row has none)."""
    return (*(index[f] for f in REQUIRED), *(index.get(f) for f in (*DURATIONS, *OPTIONAL)))


@dataclass(frozen=True)
class Builders:
    """The row builders of one file's import: answer times read in ``tz``, calls stored
    under ``source``; called with a file's column index, as each reader learns it."""

    tz: ZoneInfo
    source: str = ""

    def __call__(self, index: Mapping[str, int]) -> Builder:
        return record_builder(index, self.tz, self.source)


def record_builder(  # noqa: PLR0915 - one flat function: it runs for every row
    index: Mapping[str, int], tz: ZoneInfo, source: str = ""
) -> Builder:
    """A function validating one row (values as text, positioned by ``index``) into the
    values a store writes (``store.sql.rows.WRITE_COLUMNS``: the source, the call id, the
    agent and its lower-cased key, then the other columns of ``records.COLUMNS``).

    ``index`` maps field names to positions in the row; it must hold every ``REQUIRED``
    field and at least one of ``DURATIONS``. Raises ``BadValue`` for a bad value.

    Most columns repeat a few values (agents, campaigns, dispositions, call types): each
    distinct text is validated once, by the full check (``_checked``), and remembered; a
    row whose texts are all known takes one dictionary look-up per column. A row with
    anything new takes the full check, which raises exactly the error the row deserves.
    The remembered values are the same objects row after row, which also makes a batch
    cheap to pickle to the writing process (the pickle refers to a repeated object).
    """
    (
        i_user, i_time, i_disp, i_phone, i_loan, i_type, i_lead, i_term, i_port, i_camp,
        i_hms, i_sec, i_prof, i_cid,
    ) = _positions(index)  # fmt: skip
    epoch = ZoneClock(tz).from_text
    w_call_id, w_phone, w_loan = (LIMITS[f] for f in ("call_id", "phone_number", "loan_number"))
    checked = _checked(index, tz, source)
    clock = clock_seconds()
    users: dict[str, tuple[str, str]] = {}
    texts: tuple[dict[str, str], ...] = ({}, {}, {}, {})  # disposition, term, campaign, type
    dispositions, terms, campaigns, call_types = texts
    portfolios: dict[str, str] = {}
    profiles: dict[tuple[str, str, str], str] = {}
    seconds: dict[str, int] = {}

    def remember(v: Sequence[str], row: tuple[Any, ...]) -> tuple[Any, ...]:
        """Keeps the row's validated values for the rows to come; returns the row with the
        kept objects in it."""
        if len(users) < _CACHED:
            users.setdefault(v[i_user], (row[2], row[3]))
        for cache, at, position in zip(
            texts, (i_disp, i_term, i_camp, i_type), (5, 11, 13, 8), strict=True
        ):
            if len(cache) < _CACHED:
                cache.setdefault(v[at], row[position])
        if len(portfolios) < _CACHED:
            portfolios.setdefault(v[i_port], row[12])
        if len(profiles) < _CACHED:
            raw = v[i_prof] if i_prof is not None else ""
            profiles.setdefault((raw, v[i_camp], v[i_port]), row[14])
        if i_sec is not None and (text := v[i_sec]) and len(seconds) < _CACHED:
            seconds.setdefault(text, row[9])
        return row

    def build(v: Sequence[str]) -> tuple[Any, ...]:
        try:
            user, key = users[v[i_user]]
            disposition = dispositions[v[i_disp]]
            call_type = call_types[v[i_type]]
            term = terms[v[i_term]]
            portfolio = portfolios[v[i_port]]
            campaign = campaigns[v[i_camp]]
            profile = profiles[v[i_prof] if i_prof is not None else "", v[i_camp], v[i_port]]
            if i_sec is not None and (text := v[i_sec]):
                duration = seconds[text]
            elif i_hms is not None and (text := v[i_hms]):
                duration = clock[text]
            else:
                return remember(v, checked(v))
        except KeyError:
            return remember(v, checked(v))
        text = v[i_lead]
        if not text:
            lead_id = None
        elif text.isdigit() and len(text) < 19 and text.isascii():
            lead_id = int(text)
        else:
            return checked(v)
        phone, loan = v[i_phone], v[i_loan]
        call_id = v[i_cid].strip() if i_cid is not None else ""
        if (
            len(phone) > w_phone
            or len(loan) > w_loan
            or len(call_id) > w_call_id
            or "\x00" in phone
            or "\x00" in loan
            or "\x00" in call_id
        ):
            return checked(v)  # which says what is wrong
        try:
            answer_ts = epoch(v[i_time])
        except ValueError:
            return checked(v)
        if not call_id:
            call_id = natural_key(user, answer_ts, phone, lead_id, campaign)
        return (
            source, call_id, user, key, answer_ts, disposition, phone, loan, call_type,
            duration, lead_id, term, portfolio, campaign, profile,
        )  # fmt: skip

    return build


# One flat function on purpose: it runs for every row with a value not seen before.
def _checked(index: Mapping[str, int], tz: ZoneInfo, source: str) -> Builder:
    """The full check of one row, field by field in a fixed order (so that a row with
    several bad values always names the same one); the values as ``record_builder``'s."""
    (
        i_user, i_time, i_disp, i_phone, i_loan, i_type, i_lead, i_term, i_port, i_camp,
        i_hms, i_sec, i_prof, i_cid,
    ) = _positions(index)  # fmt: skip
    epoch = ZoneClock(tz).from_text
    w_user, w_call_id, w_disposition, w_phone, w_loan, w_term, w_campaign, w_profile = (
        LIMITS[f]
        for f in (
            "user",
            "call_id",
            "disposition",
            "phone_number",
            "loan_number",
            "term_reason",
            "campaign_name",
            "profile",
        )
    )
    clock = clock_seconds()
    call_types = {variant: t for t in CALL_TYPES for variant in (t, t.lower(), t.title())}

    def build(v: Sequence[str]) -> tuple[Any, ...]:
        user = v[i_user].strip()
        if not user:
            raise BadValue("user", "must not be empty")
        text = v[i_time]
        try:
            answer_ts = epoch(text)
        except ValueError:
            raise BadValue(
                "answer_time", f"expected a valid YYYY-MM-DD HH:MM:SS, got {shown(text)}"
            ) from None
        call_type = call_types.get(v[i_type]) or _call_type(v[i_type])
        portfolio = _portfolio(v[i_port])
        campaign = v[i_camp].strip()
        if not campaign:
            raise BadValue("campaign_name", "must not be empty")
        profile = v[i_prof].strip().upper() if i_prof is not None else ""
        if not profile:
            profile = profile_of(campaign, portfolio)
        # The exact seconds win over the clock form when a file has both.
        if i_sec is not None and (text := v[i_sec]):
            if text.isdigit() and len(text) < 10 and text.isascii():
                duration = int(text)
            else:
                duration = _whole(text, "call_duration_sec", _MAX_INT)
        elif i_hms is not None and (text := v[i_hms]):
            duration = clock.get(text, -1)
            if duration < 0:
                duration = _clock_duration(text)
        else:
            raise BadValue("call_duration", "must not be empty")
        text = v[i_lead]
        if not text:
            lead_id = None
        elif text.isdigit() and len(text) < 19 and text.isascii():
            lead_id = int(text)
        else:
            lead_id = _lead_id(text)
        disposition, phone, loan, term = v[i_disp], v[i_phone], v[i_loan], v[i_term]
        call_id = v[i_cid].strip() if i_cid is not None else ""
        if (
            len(user) > w_user
            or len(call_id) > w_call_id
            or len(disposition) > w_disposition
            or len(phone) > w_phone
            or len(loan) > w_loan
            or len(term) > w_term
            or len(campaign) > w_campaign
            or len(profile) > w_profile
            or "\x00" in user + call_id + disposition + phone + loan + term + campaign + profile
        ):
            _unstorable(
                {
                    "user": user,
                    "call_id": call_id,
                    "disposition": disposition,
                    "phone_number": phone,
                    "loan_number": loan,
                    "term_reason": term,
                    "campaign_name": campaign,
                    "profile": profile,
                }
            )
        if not call_id:
            call_id = natural_key(user, answer_ts, phone, lead_id, campaign)
        return (
            source, call_id, user, user.lower(), answer_ts, disposition, phone, loan, call_type,
            duration, lead_id, term, portfolio, campaign, profile,
        )  # fmt: skip

    return build


# JSON rows are objects; their values are laid out in this order for the builder.
OBJECT_FIELDS: Final = REQUIRED + DURATIONS + OPTIONAL
OBJECT_INDEX: Final = {name: i for i, name in enumerate(OBJECT_FIELDS)}
_REQUIRED_KEYS: Final = frozenset(REQUIRED)


def _as_text(value: object, field: str) -> str:
    if value is None:
        return ""
    if type(value) is int:
        return str(value)
    if isinstance(value, str):
        return value
    raise BadValue(field, f"expected a string, a whole number or null, got {value!r:.40}")


class ObjectRows:
    """JSON objects -> value lists in ``OBJECT_FIELDS`` order, warning once per unknown key."""

    def __init__(self, warn: Callable[[list[str]], None]) -> None:
        self._warn = warn
        self._unknown: set[str] = set()

    def values(self, obj: object) -> list[str]:
        if not isinstance(obj, dict):
            raise BadValue("(row)", "expected a JSON object")
        keys = obj.keys()
        if not keys >= _REQUIRED_KEYS:
            missing = next(f for f in REQUIRED if f not in obj)
            raise BadValue(missing, "missing")
        if "call_duration" not in obj and "call_duration_sec" not in obj:
            raise BadValue("call_duration", "missing (give call_duration or call_duration_sec)")
        if not keys <= KNOWN:
            new = sorted(str(k) for k in keys - KNOWN - self._unknown)
            if new:
                self._unknown.update(new)
                self._warn(new)
        return [
            x if type(x) is str else _as_text(x, k)
            for k, x in zip(OBJECT_FIELDS, map(obj.get, OBJECT_FIELDS), strict=True)
        ]
