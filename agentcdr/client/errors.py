"""What the client raises: the server's answers as the server's own classes, and its own failures.

An error body (or an error status without one) becomes the class the server raised, looked up
in ``agentcdr.errors.BY_CODE``: ``AuthError`` is ``BadCredentials``, ``RateLimited`` is
``TooManyRequests``, and so on. What is not the server's answer (the network, a truncated or
foreign body, a bad argument) is a ``ClientError``. Both are ``AgentCDRError``s, so the CLI
reports a failed fetch the way it reports any other error: one line on stderr, exit status 1.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any, Final
from xml.etree import ElementTree

import orjson

from agentcdr.errors import (
    BY_CODE,
    AgentCDRError,
    ApiError,
    AuthError,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
    ServerUnavailable,
)


class ClientError(AgentCDRError):
    """Base of what the client raises that is not an answer of the server."""


class InvalidArgument(ClientError, ValueError):
    """An argument of a client call is wrong (a bad date, an unknown zone, …); nothing was
    sent. ``argument`` names it as the call spells it (``from_date``)."""

    def __init__(self, argument: str, detail: str) -> None:
        super().__init__(f"{argument}: {detail}")
        self.argument = argument
        self.detail = detail


class NetworkError(ClientError):
    """The connection failed, timed out or was dropped."""

    retryable = True


class IncompleteResponse(NetworkError):
    """The body ended before the report did: never treated as a complete report."""


class MalformedResponse(ClientError):
    """The body is not the report format that was asked for."""


# What a fetch may raise, and what its retry logic looks at.
FetchError = ClientError | ApiError

# A response without an API body (a gateway's or proxy's own page) is known by its status.
_BY_STATUS: Final[dict[int, type[ApiError]]] = {
    400: InvalidRequest,
    401: AuthError,
    403: PermissionDenied,
    429: RateLimited,
    502: ServerUnavailable,
    503: ServerUnavailable,
    504: ServerUnavailable,
}


def api_error(
    code: Any, message: Any, status: int | None = None, retry_after: float | None = None
) -> ApiError:
    """The server's error for an error body's ``code`` and ``message``."""
    code_text = str(code) if code is not None else None
    cls = BY_CODE.get(code_text or "") or _BY_STATUS.get(status or 0) or ApiError
    return cls.from_wire(str(message or "error"), status, retry_after, code=code_text)


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds: either delta-seconds or an HTTP date."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _body_fields(body: bytes) -> tuple[Any, Any] | None:
    """``code`` and ``message`` of a JSON or XML error body, if the body is one."""
    try:
        data = orjson.loads(body)
        if isinstance(data, dict) and data.get("result") == "error":
            return data.get("code"), data.get("message")
    except orjson.JSONDecodeError:
        pass
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - our own server's small error body
    except ElementTree.ParseError:
        return None
    if root.findtext("result") == "error":
        return root.findtext("code"), root.findtext("message")
    return None


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ApiError:
    """The error an unsuccessful response stands for; a gateway's page has no API body."""
    retry_after = retry_after_of(headers)
    fields = _body_fields(body)
    if fields is not None:
        return api_error(fields[0], fields[1], status, retry_after)
    text = body[:200].decode("utf-8", "replace").strip() or "no body"
    return api_error(None, f"HTTP {status}: {text}", status, retry_after)
