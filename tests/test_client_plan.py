"""How the client plans a report without I/O: spans of days, the retry policy, URLs, options."""

from __future__ import annotations

from datetime import date

import pytest

from agentcdr.client import (
    AuthError,
    Client,
    MalformedResponse,
    NetworkError,
    RateLimited,
    RetryPolicy,
    ServerUnavailable,
)
from agentcdr.client.plan import Span, endpoint, plan_spans, source_of


def test_plan_spans() -> None:
    today = date(2025, 5, 20)
    spans = plan_spans("2025-05-01", "2025-05-07", 3, today, "asc")
    assert [(s.first, s.last) for s in spans] == [
        (date(2025, 5, 1), date(2025, 5, 3)),
        (date(2025, 5, 4), date(2025, 5, 6)),
        (date(2025, 5, 7), date(2025, 5, 7)),
    ]
    assert plan_spans("2025-05-01", "2025-05-07", 3, today)[0].first == date(2025, 5, 7)
    open_ended = plan_spans(date(2025, 5, 18), None, 1, today, "asc")
    assert [str(s) for s in open_ended] == ["2025-05-18", "2025-05-19", "2025-05-20 to now"]
    assert open_ended[-1].params() == {"fromDate": "2025-05-20"}
    assert not open_ended[-1].closed
    assert plan_spans(None, None, 1, today) == [Span(None, None)]
    assert plan_spans(None, "2025-05-02", 1, today) == [Span(date(2025, 5, 2), date(2025, 5, 2))]
    assert len(plan_spans("2025-01-01", "2025-12-31", 0, today)) == 1
    assert plan_spans("2025-06-01", None, 1, today) == [Span(date(2025, 6, 1), None)]
    with pytest.raises(ValueError, match="after"):
        plan_spans("2025-05-02", "2025-05-01", 1, today)


def test_retry_policy() -> None:
    policy = RetryPolicy(max_retries=3, backoff=1.0, max_backoff=3.0, max_retry_after=60)
    network = NetworkError("reset")
    waits = [policy.delay(n, network) for n in (1, 2, 3)]
    assert 0.5 <= waits[0] <= 1.0  # type: ignore[operator]
    assert 1.0 <= waits[1] <= 2.0  # type: ignore[operator]
    assert 1.5 <= waits[2] <= 3.0  # type: ignore[operator]
    assert policy.delay(4, network) is None
    assert policy.delay(1, RateLimited.from_wire("x", retry_after=30)) == 30
    assert policy.delay(1, RateLimited.from_wire("x", retry_after=900)) is None
    assert policy.delay(1, ServerUnavailable.from_wire("x")) is not None
    assert policy.delay(1, AuthError.from_wire("x")) is None
    assert policy.delay(1, MalformedResponse("x")) is None


def test_urls() -> None:
    assert endpoint("https://cdr.example.com") == (
        "https://cdr.example.com/goAPIv2/goReports/goAPI.php"
    )
    assert (
        endpoint("https://x/goAPIv2/goReports/goAPI.php") == "https://x/goAPIv2/goReports/goAPI.php"
    )
    assert source_of("http://127.0.0.1:8080/") == "127.0.0.1:8080"
    assert source_of("https://cdr.example.com") == "cdr.example.com"


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="response_format"):
        Client("http://x", "u", "p", response_format="csv")  # type: ignore[typeddict-item]
    with pytest.raises(ValueError, match="page_size"):
        Client("http://x", "u", "p", page_size=0)
