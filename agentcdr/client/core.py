"""What the blocking and the async client share: settings, and a ``SpanFetch`` per span."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import TypedDict, Unpack
from zoneinfo import ZoneInfo

import httpx

from agentcdr.client.errors import InvalidArgument, error_from_response
from agentcdr.client.plan import (
    FORMATS,
    Filters,
    Negotiation,
    Query,
    ResponseFormat,
    RetryPolicy,
    Span,
    SpanFetch,
    endpoint,
    plan_spans,
    span_fetches,
    today_in,
)
from agentcdr.errors import ApiError

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class Options(TypedDict, total=False):
    """How a client fetches: see ``docs/client.md``."""

    chunk_days: int  # days per request (0: the whole range in one request); default 1
    page_size: int | None  # rows per page (limit/cursor) within a request; default none
    response_format: ResponseFormat  # "auto" (NDJSON, else JSON), "ndjson", "json", "xml"
    extra_fields: bool  # ask for call_id, profile, call_duration_sec; default True
    retry: RetryPolicy | None


class BaseClient:
    """Settings common to ``Client`` and ``AsyncClient``; see ``docs/client.md``."""

    def __init__(self, url: str, user: str, password: str, **options: Unpack[Options]) -> None:
        response_format = options.get("response_format", "auto")
        if response_format not in FORMATS:
            raise InvalidArgument("response_format", f"must be one of {', '.join(FORMATS)}")
        page_size = options.get("page_size")
        if page_size is not None and page_size < 1:
            raise InvalidArgument("page_size", "must be at least 1")
        self.url = endpoint(url)
        self.chunk_days = options.get("chunk_days", 1)
        self.page_size = page_size
        self.retry = options.get("retry") or RetryPolicy()
        self.negotiation = Negotiation(response_format, options.get("extra_fields", True))
        # Credentials go in the form body of every POST, never into a URL (where access logs
        # and proxies would keep them).
        self._credentials = {"goAction": "agent_cdr", "goUser": user, "goPass": password}

    @staticmethod
    def _headers() -> dict[str, str]:
        from agentcdr import __version__  # at call time: agentcdr/__init__ imports this module

        return {"user-agent": f"agentcdr-client/{__version__}"}

    def spans(self, skip_days: Iterable[date] = (), **filters: Unpack[Filters]) -> list[Span]:
        """The spans a report with these arguments is fetched in, without those finished."""
        query = self._query(filters)
        return [fetch.span for fetch in self._plan(query, skip_days, None)]

    @staticmethod
    def _query(filters: Filters) -> Query:
        query = Query(**filters)
        if query.order not in ("asc", "desc"):
            raise InvalidArgument("order", "must be asc or desc")
        query.params()  # fail on a bad argument before any request is sent
        return query

    def _plan(
        self, query: Query, skip_days: Iterable[date], page_size: int | None
    ) -> list[SpanFetch]:
        spans = plan_spans(
            query.from_date, query.to_date, self.chunk_days, today_in(query.tz), query.order
        )
        zone = ZoneInfo(query.tz) if query.tz else None
        size = page_size if page_size is not None else self.page_size
        if size is not None and self.negotiation.response_format == "ndjson":
            # Without a cursor every span would silently stop after its first page.
            raise InvalidArgument(
                "page_size", "NDJSON carries no next cursor: page with json or xml"
            )

        def make(span: Span) -> SpanFetch:
            return SpanFetch(
                span, self._credentials, query, self.negotiation, self.retry, size, zone
            )

        return list(span_fetches(spans, skip_days, make))

    def _fetches(
        self, filters: Filters, skip_days: Iterable[date], page_size: int | None
    ) -> list[SpanFetch]:
        return self._plan(self._query(filters), skip_days, page_size)


def raise_for(status: int, headers: Mapping[str, str], body: bytes) -> None:
    """Raise the typed error of an unsuccessful response."""
    if status != 200:
        error: ApiError = error_from_response(status, headers, body)
        raise error
