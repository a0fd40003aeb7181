"""The error table of docs/api.md is the code table of both sides: every code is one class,
which the server renders with that code and status and the client reads back as that class."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from agentcdr import errors, params
from agentcdr.client import errors as client_errors
from agentcdr.client.errors import error_from_response
from agentcdr.client.parse import JsonParser, XmlParser
from agentcdr.client.plan import RetryPolicy
from agentcdr.encoders import error_body
from agentcdr.errors import BY_CODE, ApiError
from tests.remote import collect, in_process
from tests.seed import seed

DOCS = Path(__file__).parent.parent / "docs" / "api.md"
# | `40001` | 400 | when | `Missing required parameter: responsetype` |
ROW = re.compile(r"^\| `(\d{5})` \| (\d{3}) \| [^|]+ \| `([^`]+)` \|$", re.M)
TABLE = {code: (int(status), message) for code, status, message in ROW.findall(DOCS.read_text())}

# Each code raised as the server raises it, with the arguments of the docs' example message.
RAISED: dict[str, ApiError] = {
    "40001": errors.MissingParameter("responsetype"),
    "41004": errors.InvalidValue("toDate", "the range spans 367 days; the maximum is 366"),
    "41013": errors.BodyTooLarge(1048576),
    "41014": errors.UriTooLong(32768),
    "41031": errors.HeadersTooLarge(64, 32768),
    "10000": errors.BadCredentials(),
    "10001": errors.Forbidden("Not allowed to see tenant CSC"),
    "10005": errors.CommandNotFound(),
    "10009": errors.MethodNotAllowed("PUT"),
    "10429": errors.TooManyRequests(812),
    "10007": errors.DatabaseUnavailable(),
    "10500": errors.InternalError("9f0c…"),
}


def test_the_documented_table_is_the_code_table() -> None:
    assert len(TABLE) == 12  # the spec's nine rows, 41013, 41014 and 41031, all in the docs
    assert set(TABLE) == set(BY_CODE) == set(RAISED)
    for code, (status, message) in TABLE.items():
        cls = BY_CODE[code]
        assert (cls.code, cls.status) == (code, status)
        assert type(RAISED[code]) is cls
        assert RAISED[code].message == message


def test_one_class_a_code_and_the_client_restates_none() -> None:
    defined = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, ApiError)
    }
    # Besides the table's classes only the two bases: ApiError, and InvalidRequest (a 400).
    assert defined - set(BY_CODE.values()) == {ApiError, errors.InvalidRequest}
    assert len(set(BY_CODE.values())) == len(BY_CODE)
    own = [
        value
        for value in vars(client_errors).values()
        if isinstance(value, type) and value.__module__ == client_errors.__name__
    ]
    assert own
    assert all(issubclass(cls, client_errors.ClientError) for cls in own)
    assert not any(issubclass(cls, ApiError) for cls in own)


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('table') / 'table.db'}"
    seed(url, [], {"api": None})
    return url


def fetch_error(db_url: str, fmt: str, http_200: bool) -> ApiError:
    """What the real client raises when the real app answers with the raised error."""

    async def go() -> None:
        client = await in_process(
            db_url,
            server={"http_200": http_200},
            response_format=fmt,
            retry=RetryPolicy(max_retries=0),
        )
        async with client:
            await collect(client.agent_cdr(from_date="2025-05-13", to_date="2025-05-13"))

    with pytest.raises(ApiError) as raised:
        asyncio.run(go())
    return raised.value


@pytest.mark.parametrize("code", sorted(RAISED))
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("http_200", [False, True])
def test_every_code_round_trips_through_server_and_client(
    db_url: str, monkeypatch: pytest.MonkeyPatch, code: str, fmt: str, http_200: bool
) -> None:
    sent = RAISED[code]

    def fail(*args: Any, **kwargs: Any) -> None:
        raise sent

    monkeypatch.setattr(params, "build_request", fail)
    status, message = TABLE[code]
    got = fetch_error(db_url, fmt, http_200)
    assert type(got) is type(sent)
    assert (got.code, got.status, got.message) == (code, status, message)
    assert got.retryable is sent.retryable
    if code == "10429" and not http_200:
        assert got.retry_after == 812.0  # the server's Retry-After header


@pytest.mark.parametrize("code", sorted(RAISED))
def test_the_rendered_body_parses_back_into_its_class(code: str) -> None:
    status, message = TABLE[code]
    for fmt, parser in (("json", JsonParser), ("xml", XmlParser)):
        body = error_body(RAISED[code], fmt)
        parsed = error_from_response(status, {}, body)
        assert type(parsed) is BY_CODE[code]
        assert (parsed.code, parsed.status, parsed.message) == (code, status, message)
        in_200 = parser()
        in_200.feed(body)
        with pytest.raises(BY_CODE[code]) as raised:
            in_200.close()
        assert type(raised.value) is BY_CODE[code]
        assert raised.value.status == status  # no status on the wire: the class's


def test_an_answer_the_table_does_not_know() -> None:
    unknown = error_from_response(418, {}, b'{"result":"error","code":"19999","message":"x"}')
    assert type(unknown) is ApiError
    assert (unknown.code, unknown.status, str(unknown)) == ("19999", 418, "x (code 19999)")
    # A gateway's own page has no API body: its status says what it is.
    for status, cls in ((502, errors.DatabaseUnavailable), (401, errors.BadCredentials)):
        page = error_from_response(status, {"retry-after": "3"}, b"<html>Bad Gateway</html>")
        assert type(page) is cls
        assert (page.code, page.status, page.retry_after) == (cls.code, status, 3.0)
        assert page.message == f"HTTP {status}: <html>Bad Gateway</html>"
    bare_400 = error_from_response(400, {}, b"")
    assert type(bare_400) is errors.InvalidRequest
    assert bare_400.message == "HTTP 400: no body"
    assert type(error_from_response(500, {}, b"oops")) is ApiError
