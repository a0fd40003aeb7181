"""The client's retry, fallback and paging bookkeeping on scripted transports (httpx's
MockTransport): what it sends, and what it does with each answer."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from agentcdr.client import AuthError, Client, IncompleteResponse, NetworkError, RetryPolicy
from tests.bodies import FAST, JSON_BODY, NDJSON_BODY, ROW1, XML_BODY


class Script:
    """A MockTransport handler answering from a list of responses, recording requests."""

    def __init__(self, *answers: Callable[[dict[str, list[str]]], httpx.Response]) -> None:
        self.answers = deque(answers)
        self.requests: list[httpx.Request] = []
        self.forms: list[dict[str, list[str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        form = parse_qs(request.content.decode())
        self.forms.append(form)
        return self.answers.popleft()(form)


class Cut(httpx.SyncByteStream):
    """A body that stops with a network error after ``size`` bytes."""

    def __init__(self, body: bytes, size: int) -> None:
        self.body, self.size = body, size

    def __iter__(self) -> Iterator[bytes]:
        yield self.body[: self.size]
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


def ok(body: bytes, fmt: str = "json") -> Callable[[dict[str, list[str]]], httpx.Response]:
    return lambda form: httpx.Response(200, content=body)


def cut(body: bytes, size: int) -> Callable[[dict[str, list[str]]], httpx.Response]:
    return lambda form: httpx.Response(200, stream=Cut(body, size))


def error(status: int, code: str, message: str, **headers: str) -> Callable[..., httpx.Response]:
    body = orjson.dumps({"result": "error", "code": code, "message": message})
    return lambda form: httpx.Response(status, content=body, headers=headers)


def client_for(script: Script, **options: Any) -> Client:
    options.setdefault("retry", FAST)
    return Client(
        "https://cdr.example.com", "api", "s3cret", transport=httpx.MockTransport(script), **options
    )


def test_credentials_and_filters_travel_in_the_post_body() -> None:
    script = Script(ok(NDJSON_BODY))
    with client_for(script) as client:
        rows = list(
            client.agent_cdr(
                from_date="2025-05-13",
                to_date="2025-05-13",
                users=["example.user1", "Example.User2"],
                tenants=["GAL"],
                tz="America/New_York",
            )
        )
    assert [r.user for r in rows] == ["Example.User1", "Example.User2"]
    request = script.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://cdr.example.com/goAPIv2/goReports/goAPI.php"
    assert b"s3cret" not in str(request.url).encode()
    form = script.forms[0]
    assert form["goUser"] == ["api"]
    assert form["goPass"] == ["s3cret"]
    assert form["goAction"] == ["agent_cdr"]
    assert form["responsetype"] == ["ndjson"]
    assert form["user[]"] == ["example.user1", "Example.User2"]
    assert form["tenant[]"] == ["GAL"]
    assert form["fromDate"] == form["toDate"] == ["2025-05-13"]
    assert form["fields"][0].split(",")[-3:] == ["call_duration_sec", "profile", "call_id"]
    assert "order" not in form
    assert rows[0].answer_time.tzinfo == ZoneInfo("America/New_York")


def test_ndjson_refused_falls_back_to_json_once() -> None:
    refuse = error(
        400, "41004", "Invalid value for responsetype: 'ndjson'; allowed values are json, xml"
    )
    script = Script(refuse, ok(JSON_BODY), ok(JSON_BODY))
    with client_for(script, retry=RetryPolicy(max_retries=0)) as client:
        rows = list(client.agent_cdr(from_date="2025-05-12", to_date="2025-05-13"))
    assert len(rows) == 4
    assert [f["responsetype"][0] for f in script.forms] == ["ndjson", "json", "json"]


def test_a_server_that_answers_json_to_ndjson_loses_no_rows() -> None:
    labelled = lambda form: httpx.Response(  # noqa: E731
        200, content=JSON_BODY, headers={"content-type": "application/json"}
    )
    one_line = ok(orjson.dumps(orjson.loads(JSON_BODY)))  # unlabelled, on one line
    script = Script(labelled, one_line)
    with client_for(script, chunk_days=1) as client:
        rows = list(client.agent_cdr(from_date="2025-05-12", to_date="2025-05-13"))
    assert [f["responsetype"] for f in script.forms] == [["ndjson"], ["ndjson"]]
    assert [r.user for r in rows] == ["Example.User1", "Example.User2"] * 2


def test_unknown_fields_fall_back_to_the_documented_columns() -> None:
    script = Script(error(400, "41004", "Invalid value for fields: unknown field"), ok(NDJSON_BODY))
    with client_for(script, retry=RetryPolicy(max_retries=0)) as client:
        rows = list(client.agent_cdr(from_date="2025-05-13", to_date="2025-05-13"))
    assert len(rows) == 2
    assert "fields" in script.forms[0]
    assert "fields" not in script.forms[1]


def test_429_and_503_are_retried() -> None:
    script = Script(
        error(429, "10429", "Too many", **{"Retry-After": "0"}),
        error(503, "10007", "The database cannot be reached"),
        lambda form: httpx.Response(502, content=b"<html>bad gateway</html>"),
        ok(NDJSON_BODY),
    )
    with client_for(script) as client:
        rows = list(client.agent_cdr(from_date="2025-05-13", to_date="2025-05-13"))
    assert [r.user for r in rows] == ["Example.User1", "Example.User2"]
    assert len(script.requests) == 4


def test_errors_that_retrying_cannot_fix_are_raised_at_once() -> None:
    script = Script(error(401, "10000", "Invalid Username/Password"))
    with client_for(script) as client, pytest.raises(AuthError) as info:
        list(client.agent_cdr(from_date="2025-05-13", to_date="2025-05-13"))
    assert (info.value.code, info.value.status) == ("10000", 401)
    assert len(script.requests) == 1


def test_a_body_dropped_mid_report_is_fetched_again_without_duplicates() -> None:
    many = [
        {**ROW1, "call_id": f"c{i}", "answer_time": f"2025-05-13 10:{i:02d}:00"} for i in range(40)
    ]
    body = b"".join(orjson.dumps(r) + b"\n" for r in many)
    script = Script(cut(body, 1000), cut(body, 3000), ok(body))
    with client_for(script) as client:
        rows = list(client.agent_cdr(from_date="2025-05-13", to_date="2025-05-13"))
    assert [r.call_id for r in rows] == [f"c{i}" for i in range(40)]
    assert len(script.requests) == 3


def test_rows_without_ids_are_deduplicated_by_their_values() -> None:
    body = NDJSON_BODY * 3  # the same two calls three times: all kept, none repeated on retry
    script = Script(cut(body, len(NDJSON_BODY) + 10), ok(body))
    with client_for(script) as client:
        rows = list(client.agent_cdr(from_date="2025-05-13", to_date="2025-05-13"))
    assert [r.user for r in rows] == ["Example.User1", "Example.User2"] * 3


def test_a_truncated_report_is_never_returned_as_complete() -> None:
    script = Script(*[cut(JSON_BODY, 400)] * 3)
    with client_for(
        script, response_format="json", retry=RetryPolicy(max_retries=2, backoff=0.01)
    ) as client:
        rows = client.agent_cdr(from_date="2025-05-13", to_date="2025-05-13")
        with pytest.raises(NetworkError):
            list(rows)
    script = Script(ok(JSON_BODY[:-20]))
    single = client_for(script, response_format="json", retry=RetryPolicy(max_retries=0))
    with single as client, pytest.raises(IncompleteResponse):
        list(client.agent_cdr(from_date="2025-05-13", to_date="2025-05-13"))


def page(rows: list[dict[str, Any]], cursor: str | None) -> bytes:
    return orjson.dumps({"result": "success", "data": {"rows": rows, "next_cursor": cursor}})


def test_pages_follow_the_cursor_and_a_failed_page_resumes_from_its_own() -> None:
    rows = [{**ROW1, "call_id": f"c{i}"} for i in range(5)]
    p1, p2, p3 = page(rows[:2], "k2"), page(rows[2:4], "k4"), page(rows[4:], None)
    script = Script(ok(p1), cut(p2, len(p2) - 40), ok(p2), ok(p3))
    with client_for(script, page_size=2) as client:
        got = list(client.agent_cdr(from_date="2025-05-13", to_date="2025-05-13"))
    assert [r.call_id for r in got] == [f"c{i}" for i in range(5)]
    assert [f.get("cursor") for f in script.forms] == [None, ["k2"], ["k2"], ["k4"]]
    assert {f["limit"][0] for f in script.forms} == {"2"}
    assert {f["responsetype"][0] for f in script.forms} == {"json"}  # NDJSON has no cursor


def test_xml_only_servers() -> None:
    script = Script(ok(XML_BODY))
    with client_for(script, response_format="xml") as client:
        rows = list(client.agent_cdr(from_date="2025-05-13", to_date="2025-05-13"))
    assert script.forms[0]["responsetype"] == ["xml"]
    assert rows[1].disposition == 'odd } ] [ { , : "quoted" \\ back'
    assert rows[1].lead_id is None


def test_spans_and_skipped_days() -> None:
    script = Script(*[ok(NDJSON_BODY)] * 2)
    with client_for(script, chunk_days=2) as client:
        skip = [date(2025, 5, 1), date(2025, 5, 2)]
        spans = client.spans(skip, from_date="2025-05-01", to_date="2025-05-06", order="asc")
        assert [str(s) for s in spans] == ["2025-05-03 to 2025-05-04", "2025-05-05 to 2025-05-06"]
        got = [
            (str(span), len(list(rows)))
            for span, rows in client.agent_cdr_spans(
                skip_days=skip, from_date="2025-05-01", to_date="2025-05-06", order="asc"
            )
        ]
    assert got == [("2025-05-03 to 2025-05-04", 2), ("2025-05-05 to 2025-05-06", 2)]
    assert [f["order"] for f in script.forms] == [["asc"], ["asc"]]
    with client_for(Script()) as client, pytest.raises(ValueError, match="order"):
        client.spans(from_date="2025-05-01", order="sideways")
