"""The errors the client raises: error bodies and statuses, typed; the public names."""

from __future__ import annotations

import agentcdr
from agentcdr.client import (
    ApiError,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
    ServerUnavailable,
)
from agentcdr.client.errors import error_from_response, retry_after_of
from agentcdr.errors import CommandNotFound
from tests.bodies import ERROR_XML


def test_error_from_response() -> None:
    limited = error_from_response(
        429, {"retry-after": "7"}, b'{"result":"error","code":"10429","message":"slow down"}'
    )
    assert isinstance(limited, RateLimited)
    assert (limited.code, limited.status, limited.retry_after) == ("10429", 429, 7.0)
    gateway = error_from_response(503, {}, b"<html>Service Unavailable</html>")
    assert isinstance(gateway, ServerUnavailable)
    assert gateway.retryable
    assert "HTTP 503" in gateway.message
    bad = error_from_response(400, {}, b'{"result":"error","code":"41004","message":"bad tenant"}')
    assert isinstance(bad, InvalidRequest)
    assert str(bad) == "bad tenant (code 41004)"
    denied = error_from_response(403, {}, ERROR_XML)
    assert isinstance(denied, PermissionDenied)
    assert not denied.retryable
    # Every code of the table is the server's own class now (10005 was a plain ApiError).
    not_found = error_from_response(404, {}, b'{"result":"error","code":"10005","message":"x"}')
    assert type(not_found) is CommandNotFound
    assert not_found.code == "10005"
    unknown = error_from_response(404, {}, b'{"result":"error","code":"10099","message":"x"}')
    assert type(unknown) is ApiError
    assert unknown.code == "10099"
    assert retry_after_of({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_of({"retry-after": "soon"}) is None


def test_public_names() -> None:
    assert agentcdr.__all__ == sorted(agentcdr.__all__)
    for name in ("Client", "AsyncClient", "ApiError", "RateLimited", "CdrRow"):
        assert name in agentcdr.__all__
