"""The typed call record the client yields, and its conversions to the API's and the store's
shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from agentcdr.client.errors import InvalidArgument, MalformedResponse
from agentcdr.records import (
    ALL_FIELDS,
    DEFAULT_FIELDS,
    FIELDS,
    CallRecord,
    natural_key,
    profile_of,
)

# What the client asks an agentcdr server for: the documented columns and the extras that
# make rows typed and identifiable. Servers that do not know ``fields`` ignore it.
REQUEST_FIELDS: Final = ALL_FIELDS
# The documented fields sent as text (answer_time and call_duration are converted).
_TEXT_FIELDS: Final = tuple(
    f.name for f in FIELDS if f.name in DEFAULT_FIELDS and f.show == "value" and not f.numeric
)


@dataclass(frozen=True, slots=True)
class CdrRow:
    """One row of the agent_cdr report.

    ``answer_time`` is the wall-clock time the server rendered: naive (in the server's report
    time zone) when the request gave no ``tz``, aware in that zone when it did.
    ``profile`` and ``call_id`` are ``None`` when the server does not offer them.
    """

    user: str
    answer_time: datetime
    disposition: str
    phone_number: str
    loan_number: str
    call_type: str
    call_duration: str
    call_duration_sec: int
    lead_id: int | None
    term_reason: str
    portfolio: str
    campaign_name: str
    profile: str | None = None
    call_id: str | None = None

    def identity(self) -> object:
        """What tells this call from every other: the server's id, else all of its values."""
        if self.call_id is not None:
            return self.call_id
        return (
            self.user,
            self.answer_time,
            self.phone_number,
            self.lead_id,
            self.campaign_name,
            self.disposition,
            self.call_duration_sec,
            self.loan_number,
            self.call_type,
            self.term_reason,
            self.portfolio,
        )

    def natural_key(self) -> str | None:
        """The store's identity of a call without ``call_id`` (``records.natural_key``, the
        recipe import and demo data use), or None when ``answer_time`` is naive: the key
        is made from the UTC instant, which a time without its zone does not give."""
        if self.answer_time.tzinfo is None:
            return None
        answer_ts = int(self.answer_time.timestamp())
        return natural_key(
            self.user, answer_ts, self.phone_number, self.lead_id, self.campaign_name
        )

    def api_value(self, field: str) -> Any:
        """The value of one report field as the JSON API renders it."""
        if field == "answer_time":
            return self.answer_time.strftime("%Y-%m-%d %H:%M:%S")
        if field == "profile":
            return (
                self.profile
                if self.profile is not None
                else profile_of(self.campaign_name, self.portfolio)
            )
        if field == "call_id":
            if self.call_id is not None:
                return self.call_id
            return self.natural_key() or ""
        return getattr(self, field)

    def to_record(self, source: str = "") -> CallRecord:
        """The call as a store keeps it. Needs an aware ``answer_time`` (request with ``tz``)."""
        if self.answer_time.tzinfo is None:
            raise InvalidArgument("tz", "answer_time has no zone; request the report with tz=")
        return CallRecord(
            call_id=self.api_value("call_id"),
            user=self.user,
            answer_ts=int(self.answer_time.timestamp()),
            disposition=self.disposition,
            phone_number=self.phone_number,
            loan_number=self.loan_number,
            call_type=self.call_type,
            call_duration_sec=self.call_duration_sec,
            lead_id=self.lead_id,
            term_reason=self.term_reason,
            portfolio=self.portfolio,
            campaign_name=self.campaign_name,
            profile=self.api_value("profile"),
            source=source,
        )


def duration_seconds(text: str) -> int:
    """``HH:MM:SS`` (hours may exceed 24) -> seconds."""
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds)


def _optional_int(value: Any) -> int | None:
    # JSON gives an int or null; XML gives text, empty for null.
    if value is None or value == "":
        return None
    return int(value)


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def row_from_mapping(values: Mapping[str, Any], zone: ZoneInfo | None) -> CdrRow:
    """A row as the server sent it (JSON values or XML text) -> ``CdrRow``."""
    try:
        answer = datetime.fromisoformat(values["answer_time"])
        duration = str(values.get("call_duration") or "00:00:00")
        seconds = values.get("call_duration_sec")
        text = {name: str(values.get(name) or "") for name in _TEXT_FIELDS}
        return CdrRow(
            answer_time=answer.replace(tzinfo=zone) if zone is not None else answer,
            call_duration=duration,
            call_duration_sec=(
                int(seconds) if seconds not in (None, "") else duration_seconds(duration)
            ),
            lead_id=_optional_int(values.get("lead_id")),
            profile=_optional_text(values.get("profile")),
            call_id=_optional_text(values.get("call_id")),
            **text,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedResponse(f"a report row has a bad value ({exc}): {dict(values)}") from exc
