"""Requests that no client should send: every one is a clear 4xx with the error body, never a
500, and never a 503 (clients retry those), on every store. Each case is the exact request
and the exact answer."""

from __future__ import annotations

import base64
import io
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import orjson
import pytest
from openpyxl import load_workbook

from tests.conftest import API, USERS, ApiHarness
from tests.seed import seed

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def error(response, status: int, code: str, message: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.json() == {"result": "error", "code": code, "message": message}


def invalid(response, message: str) -> None:  # type: ignore[no-untyped-def]
    error(response, 400, "41004", message)


def cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


# -- 2. values that do not parse: 41004 on every store --------------------------------------

UNPARSABLE = [
    ({"limit": "²"}, "Invalid value for limit: '²'; expected a whole number from 1 to 1000000"),
    ({"limit": "٣"}, "Invalid value for limit: '٣'; expected a whole number from 1 to 1000000"),
    (
        {"limit": "9" * 5000},
        "Invalid value for limit: '" + "9" * 40 + "…'; expected a whole number from 1 to 1000000",
    ),
    ({"tz": "America"}, "Invalid value for tz: 'America' is not an IANA time-zone name"),
    ({"tz": "Etc"}, "Invalid value for tz: 'Etc' is not an IANA time-zone name"),
    (
        {"tz": "Z" * 300},
        "Invalid value for tz: '" + "Z" * 40 + "…' is not an IANA time-zone name",
    ),
    (
        {"tz": "x" * 60_000},  # echoed cut short, not 60 kB into the answer and the log
        "Invalid value for tz: '" + "x" * 40 + "…' is not an IANA time-zone name",
    ),
    (
        {"cursor": cursor(2**63, 1, "desc")},
        "Invalid value for cursor: not a cursor returned by this report",
    ),
    (
        {"cursor": cursor(1747170000, 2**63, "desc")},
        "Invalid value for cursor: not a cursor returned by this report",
    ),
    (
        {"cursor": cursor(1747170000, "abc", "desc")},
        "Invalid value for cursor: not a cursor returned by this report",
    ),
    ({"goUser": "ad\x00min"}, "Invalid value for goUser: contains a NUL character"),
    ({"user": "Example.User1\x00"}, "Invalid value for user: contains a NUL character"),
    ({"disposition": "a\x00b"}, "Invalid value for disposition: contains a NUL character"),
    ({"phone_number": "\x00"}, "Invalid value for phone_number: contains a NUL character"),
    (
        {"user": ",".join(f"u{i}" for i in range(1001))},
        "Invalid value for user: more than 1000 items; the limit is 1000",
    ),
]


@pytest.mark.parametrize(("extra", "message"), UNPARSABLE)
def test_values_that_do_not_parse_are_41004_on_every_store(
    api: ApiHarness, extra: dict[str, object], message: str
) -> None:
    invalid(api.post(**{**DAY, **extra}), message)


def test_more_list_items_than_a_statement_binds_are_41004(api: ApiHarness) -> None:
    # 33 fields of 1,000 names: 33,000 items, past PostgreSQL's 32,767 bound parameters.
    pairs = list(api.params(**DAY).items()) + [
        ("user[]", ",".join(f"u{n}-{i}" for i in range(1000))) for n in range(33)
    ]
    invalid(
        api.post_pairs(pairs), "Invalid value for user: more than 1000 items; the limit is 1000"
    )


@pytest.mark.parametrize(
    ("extra", "meta_from", "meta_to"),
    [
        ({"toDate": "9999-12-31"}, "9999-12-31 00:00:00", "9999-12-31 23:59:59"),
        (
            {"fromDate": "0001-01-01", "toDate": "0001-01-01", "tz": "Asia/Tokyo"},
            "0001-01-01 00:00:00",
            "0001-01-01 23:59:59",
        ),
    ],
)
def test_the_first_and_last_days_of_the_calendar_are_empty_successes(
    api: ApiHarness, extra: dict[str, object], meta_from: str, meta_to: str
) -> None:
    response = api.post(**extra)
    assert response.status_code == 200, response.text
    meta = response.json()["data"]["meta"]
    assert (meta["from"], meta["to"], meta["row_count"]) == (meta_from, meta_to, 0)
    before = set(Path(tempfile.gettempdir()).glob("agentcdr-*.xlsx"))
    excel = api.post(responsetype="xlsx", **extra)
    assert excel.status_code == 200, excel.text
    book = load_workbook(io.BytesIO(excel.content), read_only=True)
    assert list(book.active.iter_rows(values_only=True))[1:] == []  # type: ignore[union-attr]
    if extra["toDate"] != "9999-12-31":
        assert book.properties.created == datetime(1970, 1, 1)  # the range starts before it
    assert set(Path(tempfile.gettempdir()).glob("agentcdr-*.xlsx")) == before


def test_year_one_without_to_date_is_a_span_error(api: ApiHarness) -> None:
    response = api.post(fromDate="0001-01-01", tz="Asia/Tokyo")
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "Invalid value for fromDate: the range through today spans "
    )


def test_updated_since_the_last_second_of_the_calendar(api: ApiHarness) -> None:
    response = api.post(updatedSince="9999-12-31 23:59:59", tz="America/New_York", **DAY)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["meta"]["filters"] == {"updatedSince": "9999-12-31 23:59:59"}


# -- 1. bodies are bounded before they are parsed --------------------------------------------


@pytest.fixture
def small_body(sqlite_url: str, open_api: Callable[..., ApiHarness]) -> ApiHarness:
    seed(sqlite_url, users=USERS)
    return open_api(sqlite_url, max_body_bytes=4096)


def test_a_body_over_the_limit_is_413_by_its_content_length(small_body: ApiHarness) -> None:
    response = small_body.client.post(API, data={**small_body.params(), "pad": "x" * 5000})
    error(response, 413, "41013", "Request body too large; the limit is 4096 bytes")


def test_a_chunked_body_over_the_limit_is_413_while_it_is_read(small_body: ApiHarness) -> None:
    def chunks() -> Iterator[bytes]:
        yield urlencode(small_body.params()).encode()
        for _ in range(100):
            yield b"&pad=" + b"x" * 1000

    response = small_body.client.post(API, content=chunks(), headers=FORM)
    assert "content-length" not in response.request.headers
    error(response, 413, "41013", "Request body too large; the limit is 4096 bytes")


def test_the_default_limit_is_one_mebibyte(sqlite_api: ApiHarness) -> None:
    pads = {f"pad{i}": "x" * 50_000 for i in range(20)}  # 1,000,000 bytes in values
    fits = sqlite_api.client.post(API, json={**sqlite_api.params(**DAY), **pads})
    assert fits.status_code == 200, fits.text
    pads["pad20"] = "x" * 50_000
    over = sqlite_api.client.post(API, json={**sqlite_api.params(**DAY), **pads})
    error(over, 413, "41013", "Request body too large; the limit is 1048576 bytes")


def test_a_413_in_xml_when_the_query_asks_for_xml(small_body: ApiHarness) -> None:
    response = small_body.client.post(
        API + "?responsetype=xml", content=b"pad=" + b"x" * 5000, headers=FORM
    )
    assert response.status_code == 413
    assert b"<code>41013</code>" in response.content


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"user": [["Example.User1"]]},
            "Invalid value for user: an array in an array in JSON; expected a string or a list "
            "of strings",
        ),
        (
            {"user": {"$ne": ""}},
            "Invalid value for user: an object in JSON; expected a string or a list of strings",
        ),
        (
            {"order": True},
            "Invalid value for order: true or false in JSON; expected a string or a list of "
            "strings",
        ),
    ],
)
def test_a_nested_json_value_is_41004_not_a_filter(
    sqlite_api: ApiHarness, body: dict[str, object], message: str
) -> None:
    invalid(sqlite_api.client.post(API, json={**sqlite_api.params(**DAY), **body}), message)


def test_json_nesting_is_bounded(sqlite_api: ApiHarness) -> None:
    for body in (b"[" * 100_000, b'{"a":' * 2000 + b"1" + b"}" * 2000):
        response = sqlite_api.client.post(
            API, content=body, headers={"Content-Type": "application/json"}
        )
        invalid(response, "Invalid value for body: the JSON body nests deeper than 1024 levels")


def test_more_than_1000_form_fields_is_41004(sqlite_api: ApiHarness) -> None:
    pairs = list(sqlite_api.params(**DAY).items()) + [(f"x{i}", "1") for i in range(1001)]
    invalid(
        sqlite_api.post_pairs(pairs),
        "Invalid value for body: the form cannot be read: Too many fields. Maximum number of "
        "fields is 1000.",
    )
    query = urlencode(pairs)
    invalid(
        sqlite_api.client.get(f"{API}?{query}"),
        "Invalid value for query: more than 1000 parameters; the limit is 1000",
    )
    invalid(
        sqlite_api.client.post(API, json={**sqlite_api.params(), "user": ["a"] * 1001}),
        "Invalid value for body: more than 1000 parameters; the limit is 1000",
    )


def test_empty_form_segments_are_not_fields(sqlite_api: ApiHarness) -> None:
    # 1,000 fields are within the limit however many "&" stand between or after them.
    pairs = list(sqlite_api.params(**DAY, limit=1).items())
    pairs += [(f"x{i}", "1") for i in range(1000 - len(pairs))]
    for body in (urlencode(pairs) + "&", "&&".join(urlencode([p]) for p in pairs) + "&" * 1000):
        response = sqlite_api.client.post(API, content=body, headers=FORM)
        assert response.status_code == 200, response.text
        assert len(response.json()["data"]["rows"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"a=1&b=2", b"a=x+y&b=%2B%20", b"a=%FF&b=\xe9t\xe9", b"a=caf%C3%A9", b"a=&b", b"a",
        b"a=1&a=2&a=", b"a=1;b=2", b"a=b=c", b"&&a=1&&", b"=1&=", b"%zz=%4", b"",
    ],
)  # fmt: skip
def test_urlencoded_forms_read_as_starlette_reads_them(body: bytes) -> None:
    # The API parses urlencoded bodies itself (for speed): field for field what starlette's
    # form parser gives for the same bytes.
    import asyncio

    from starlette.requests import Request

    from agentcdr.web.api import _form

    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
    }

    async def both() -> tuple[list[tuple[str, str]], list[tuple[str, object]]]:
        async def replay() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        ours = await _form(Request(scope, replay), body)
        theirs = (await Request(scope, replay).form()).multi_items()
        return ours, theirs

    ours, theirs = asyncio.run(both())
    assert ours == theirs


def test_a_value_over_64k_characters_is_41004(sqlite_api: ApiHarness) -> None:
    invalid(
        sqlite_api.post(user="u" * 65_537, **DAY),
        "Invalid value for user: longer than 65536 characters; the limit is 65536",
    )


def _multipart(parts: list[tuple[str | None, str]], boundary: str = "B") -> str:
    lines = []
    for name, value in parts:
        disposition = "form-data" if name is None else f'form-data; name="{name}"'
        lines += [f"--{boundary}", f"Content-Disposition: {disposition}", "", value]
    return "\r\n".join([*lines, f"--{boundary}--", ""])


@pytest.mark.parametrize(
    ("content_type", "parts", "message"),
    [
        (
            "multipart/form-data",
            [("goAction", "agent_cdr")],
            "Missing boundary in multipart.",
        ),
        (
            "multipart/form-data; boundary=Z",
            [("goAction", "agent_cdr")],
            "Invalid multipart data.",
        ),
        (
            "multipart/form-data; boundary=B",
            [(None, "agent_cdr")],
            'The Content-Disposition header field "name" must be provided.',
        ),
        (
            "multipart/form-data; boundary=B",
            [(f"x{i}", "1") for i in range(1001)],
            "Too many fields. Maximum number of fields is 1000.",
        ),
        (
            "multipart/form-data; boundary=B",
            [("user", "u" * 300_000)],
            "Part exceeded maximum size of 256KB.",
        ),
    ],
)
def test_malformed_or_oversized_multipart_is_41004(
    sqlite_api: ApiHarness,
    content_type: str,
    parts: list[tuple[str | None, str]],
    message: str,
) -> None:
    response = sqlite_api.client.post(
        API, content=_multipart(parts), headers={"Content-Type": content_type}
    )
    invalid(response, f"Invalid value for body: the form cannot be read: {message}")


def test_a_correct_multipart_form_still_works(sqlite_api: ApiHarness) -> None:
    body = _multipart([(k, str(v)) for k, v in sqlite_api.params(**DAY).items()])
    response = sqlite_api.client.post(
        API, content=body, headers={"Content-Type": "multipart/form-data; boundary=B"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["meta"]["row_count"] == 6


# -- 6. every method gets the error body; Allow names the served ones ---------------------------


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "X" * 100])
def test_any_other_method_is_405_with_the_error_body(sqlite_api: ApiHarness, method: str) -> None:
    response = sqlite_api.client.request(method, API)
    error(response, 405, "10009", f"Method not allowed: {method[:20]}; use GET or POST")
    assert response.headers["allow"] == "GET, POST, HEAD, OPTIONS"
