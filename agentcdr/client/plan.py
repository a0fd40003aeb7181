"""How a report is fetched, without I/O: the spans of days, the form of each request, the
retry policy, and the bookkeeping that lets a failed page be retried without duplicating rows.
The sync and async clients are thin loops around these."""

from __future__ import annotations

import random
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal, TypedDict
from zoneinfo import ZoneInfo

import httpx

from agentcdr.client.errors import FetchError, InvalidArgument, NetworkError
from agentcdr.client.parse import RowData, RowParser, Trailer, parser_for
from agentcdr.client.rows import REQUEST_FIELDS, CdrRow, row_from_mapping
from agentcdr.clock import zone
from agentcdr.errors import InvalidRequest
from agentcdr.records import TENANT_CODE

API_PATH: Final = "/goAPIv2/goReports/goAPI.php"
ResponseFormat = Literal["auto", "ndjson", "json", "xml"]
FORMATS: Final = ("auto", "ndjson", "json", "xml")
DateLike = date | str


def endpoint(url: str) -> str:
    """The API URL: a bare server address gets the documented path."""
    parsed = httpx.URL(url)
    if parsed.path.endswith(".php"):
        return url
    return url.rstrip("/") + API_PATH


def source_of(url: str) -> str:
    """The remote host (and port), which keeps a mirror's ids apart from local imports."""
    parsed = httpx.URL(url)
    return f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host


def as_date(value: DateLike, argument: str = "date") -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidArgument(argument, f"{value!r} is not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class Span:
    """The days one request covers, both inclusive. ``last is None``: through now, which is
    never finished; ``first is None`` as well: the server's default (the last 24 hours)."""

    first: date | None
    last: date | None

    @property
    def closed(self) -> bool:
        return self.last is not None

    def days(self) -> list[date]:
        if self.first is None or self.last is None:
            return []
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.first is not None:
            out["fromDate"] = self.first.isoformat()
        if self.last is not None:
            out["toDate"] = self.last.isoformat()
        return out

    def __str__(self) -> str:
        if self.first is None:
            return "last 24 hours"
        if self.last is None:
            return f"{self.first} to now"
        return str(self.first) if self.first == self.last else f"{self.first} to {self.last}"


def today_in(tz: str | None) -> date:
    return datetime.now(ZoneInfo(tz)).date() if tz else date.today()


def plan_spans(
    from_date: DateLike | None,
    to_date: DateLike | None,
    chunk_days: int,
    today: date,
    order: str = "desc",
) -> list[Span]:
    """The spans of a date range, ``chunk_days`` each (0: one request), in report order.

    Without ``to_date`` the range runs through now: the last span has no end, so the server
    decides what "now" is in its own time zone.
    """
    if from_date is None and to_date is None:
        return [Span(None, None)]
    last = as_date(to_date, "to_date") if to_date is not None else None
    first = as_date(from_date, "from_date") if from_date is not None else last
    assert first is not None
    if last is not None and first > last:
        raise InvalidArgument("from_date", f"{first} is after the last day, {last}")
    end = last if last is not None else max(today, first)
    step = chunk_days if chunk_days > 0 else (end - first).days + 1
    spans = []
    start = first
    while start <= end:
        stop = min(start + timedelta(days=step - 1), end)
        spans.append(Span(start, stop))
        start = stop + timedelta(days=1)
    if last is None:
        spans[-1] = replace(spans[-1], last=None)
    if order == "desc":
        spans.reverse()
    return spans


@dataclass(frozen=True)
class RetryPolicy:
    """Retries on 429, 503 and network failures, with exponential backoff and jitter."""

    max_retries: int = 5
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_backoff: float = 30.0
    # A Retry-After longer than this is not waited for: the error is raised instead.
    max_retry_after: float = 300.0

    def delay(self, attempt: int, error: FetchError) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based); ``None``: give up."""
        if not error.retryable or attempt > self.max_retries:
            return None
        base = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        # "Equal jitter": never less than half the backoff, so retries keep spreading out,
        # and clients failed by the same outage do not all come back at the same instant.
        wait = base / 2 + random.uniform(0, base / 2)  # noqa: S311 - jitter, not security
        retry_after: float | None = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            wait = max(wait, retry_after)
        return wait


class Filters(TypedDict, total=False):
    """The report's arguments: the dates (both ends inclusive, ``YYYY-MM-DD`` or ``date``)
    and the filters (each a list; empty means no filter), as ``Client.agent_cdr`` takes them."""

    from_date: DateLike | None
    to_date: DateLike | None
    users: Sequence[str]
    tenants: Sequence[str]
    profiles: Sequence[str]
    dispositions: Sequence[str]
    call_types: Sequence[str]
    campaigns: Sequence[str]
    tz: str | None
    updated_since: datetime | str | None
    order: str


@dataclass
class Query:
    """The filters of a report, as the caller gave them (see ``Filters``)."""

    from_date: DateLike | None = None
    to_date: DateLike | None = None
    users: Sequence[str] = ()
    tenants: Sequence[str] = ()
    profiles: Sequence[str] = ()
    dispositions: Sequence[str] = ()
    call_types: Sequence[str] = ()
    campaigns: Sequence[str] = ()
    tz: str | None = None
    updated_since: datetime | str | None = None
    order: str = "desc"

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, values in (
            ("user[]", self.users),
            ("tenant[]", self.tenants),
            ("profile[]", self.profiles),
            ("disposition[]", self.dispositions),
            ("call_type[]", self.call_types),
            ("campaign_name[]", self.campaigns),
        ):
            if values:
                out[name] = [values] if isinstance(values, str) else list(values)
        for tenant in (t.strip() for item in out.get("tenant[]", ()) for t in item.split(",")):
            if not TENANT_CODE.match(tenant):
                raise InvalidArgument(
                    "tenants", f"{tenant!r} is not a tenant code (3 letters or digits)"
                )
        if self.tz:
            try:
                zone(self.tz)  # before any request
            except ValueError as exc:
                raise InvalidArgument("tz", str(exc)) from None
            out["tz"] = self.tz
        if self.updated_since is not None:
            out["updatedSince"] = self._stamp(self.updated_since)
        if self.order != "desc":
            # Sent only when it differs from the documented default, which servers without
            # the extension follow anyway.
            out["order"] = self.order
        return out

    def _stamp(self, value: datetime | str) -> str:
        if isinstance(value, str):
            try:
                datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
            except ValueError:
                raise InvalidArgument(
                    "updated_since", f"{value!r} is not a time (YYYY-MM-DD HH:MM:SS)"
                ) from None
            return value
        if value.tzinfo is not None:
            if not self.tz:
                raise InvalidArgument(
                    "updated_since", "an aware time needs tz= to say the server's zone"
                )
            value = value.astimezone(ZoneInfo(self.tz))
        return value.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Negotiation:
    """What the server turned out to understand; shared by every request of a client."""

    response_format: ResponseFormat = "auto"
    extra_fields: bool = True
    ndjson_refused: bool = False

    def format_for(self, paged: bool) -> str:
        if self.response_format != "auto":
            return self.response_format
        # NDJSON carries no next cursor, so pages come as JSON.
        return "json" if paged or self.ndjson_refused else "ndjson"

    def adapt(self, error: FetchError, fmt: str) -> bool:
        """Learn from a 41004 on one of our extensions; True when a retry may now succeed."""
        if not isinstance(error, InvalidRequest):
            return False
        message = error.message.lower()
        if fmt == "ndjson" and self.response_format == "auto" and "responsetype" in message:
            self.ndjson_refused = True
            return True
        if self.extra_fields and "fields" in message:
            self.extra_fields = False
            return True
        return False


def network_error(error: httpx.TransportError) -> NetworkError:
    """httpx's failure as ours, naming the URL it could not reach."""
    try:
        where = f" {error.request.url}"
    except RuntimeError:  # an error raised without a request
        where = ""
    detail = str(error) or "connection failed"
    return NetworkError(f"cannot reach{where}: {type(error).__name__}: {detail}")


@dataclass
class SpanFetch:
    """One span's requests: its pages, its retries, and the rows already delivered.

    Rows are handed out as they arrive. When a request fails mid-body it is sent again from
    the same cursor; the rows it repeats are recognised by a hash of their identity (kept
    for the current page only, 8 bytes a row) and dropped, so the caller sees each row once.
    """

    span: Span
    base: dict[str, Any]
    query: Query
    negotiation: Negotiation
    policy: RetryPolicy
    page_size: int | None
    zone: ZoneInfo | None
    cursor: str | None = None
    done: bool = False
    attempt: int = 0
    fmt: str = "json"
    _delivered: array[int] = field(default_factory=lambda: array("q"))
    _replay: Counter[int] | None = None

    def request(self) -> dict[str, Any]:
        """The form fields of the next request."""
        self.fmt = self.negotiation.format_for(self.page_size is not None)
        data = {**self.base, "responsetype": self.fmt, **self.span.params(), **self.query.params()}
        if self.negotiation.extra_fields:
            data["fields"] = ",".join(REQUEST_FIELDS)
        if self.page_size is not None:
            data["limit"] = str(self.page_size)
            if self.cursor:
                data["cursor"] = self.cursor
        return data

    def parser(self, content_type: str | None) -> RowParser:
        """A parser for a successful body: of the format the server says it sent, which a
        server that does not know the format asked for may have chosen for itself."""
        media = (content_type or "").split(";")[0].strip().lower()
        for fmt, marker in (("ndjson", "ndjson"), ("json", "json"), ("xml", "xml")):
            if marker in media:
                return parser_for(fmt)
        return parser_for(self.fmt)

    def take(self, items: Iterable[RowData]) -> list[CdrRow]:
        """Typed rows from parsed ones, without those an earlier attempt already delivered."""
        rows = [row_from_mapping(item, self.zone) for item in items]
        replay = self._replay
        if replay:
            fresh = []
            for row in rows:
                key = hash(row.identity())
                if replay[key] > 0:
                    replay[key] -= 1
                else:
                    self._delivered.append(key)
                    fresh.append(row)
            return fresh
        self._delivered.extend(hash(row.identity()) for row in rows)
        return rows

    def finished(self, trailer: Trailer) -> None:
        self.attempt = 0
        self._delivered = array("q")
        self._replay = None
        if self.page_size is not None and trailer.next_cursor:
            self.cursor = trailer.next_cursor
        else:
            self.done = True

    def failed(self, error: Exception) -> float:
        """The wait before the request is sent again; re-raises when it must not be."""
        if isinstance(error, httpx.TransportError):
            error = network_error(error)
        if not isinstance(error, FetchError):
            raise error
        if self.negotiation.adapt(error, self.fmt):
            wait = 0.0
        else:
            self.attempt += 1
            retry = self.policy.delay(self.attempt, error)
            if retry is None:
                raise error
            wait = retry
        # The next attempt repeats the rows this one delivered: they are skipped.
        self._replay = Counter(self._delivered)
        return wait


def span_fetches(
    spans: Iterable[Span],
    skip_days: Iterable[date],
    make: Callable[[Span], SpanFetch],
) -> Iterator[SpanFetch]:
    """A ``SpanFetch`` per span still to fetch: closed spans whose days are all in
    ``skip_days`` were finished by an earlier run."""
    done = set(skip_days)
    for span in spans:
        if span.closed and done.issuperset(span.days()):
            continue
        yield make(span)
