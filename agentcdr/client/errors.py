"""What the client raises: the server's API errors, typed by code, and transport failures.

Every class derives from ``AgentCDRError``, so the CLI reports a failed fetch the way it
reports any other error: one line on stderr, exit status 1.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

import orjson

from agentcdr.errors import AgentCDRError


class ClientError(AgentCDRError):
    """Base of everything the client raises."""

    retryable = False


class InvalidArgument(ClientError, ValueError):
    """An argument of a client call is wrong (a bad date, an unknown zone, …); nothing was
    sent. ``argument`` names it as the call spells it (``from_date``)."""

    def __init__(self, argument: str, detail: str) -> None:
        super().__init__(f"{argument}: {detail}")
        self.argument = argument
        self.detail = detail


class ApiError(ClientError):
    """The server answered with an error body (or an error status without one)."""

    def __init__(
        self,
        message: str,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        # Instance attributes shadow the class defaults, so ``code`` is what the server said.
        self.code = code if code is not None else type(self).code
        self.status = status if status is not None else type(self).status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.message} (code {self.code})"


class AuthError(ApiError):
    code = "10000"
    status = 401


class PermissionDenied(ApiError):
    code = "10001"
    status = 403


class InvalidRequest(ApiError):
    """``40001`` (a missing parameter) or ``41004`` (an invalid value)."""

    code = "41004"
    status = 400


class RateLimited(ApiError):
    """``10429``; ``retry_after`` holds the server's Retry-After in seconds, when it sent one."""

    code = "10429"
    status = 429
    retryable = True


class ServerUnavailable(ApiError):
    """``10007`` (the server's database is down) or a gateway's 502/503/504."""

    code = "10007"
    status = 503
    retryable = True


class NetworkError(ClientError):
    """The connection failed, timed out or was dropped."""

    retryable = True


class IncompleteResponse(NetworkError):
    """The body ended before the report did: never treated as a complete report."""


class MalformedResponse(ClientError):
    """The body is not the report format that was asked for."""


_BY_CODE: dict[str, type[ApiError]] = {
    "10000": AuthError,
    "10001": PermissionDenied,
    "40001": InvalidRequest,
    "41004": InvalidRequest,
    "10429": RateLimited,
    "10007": ServerUnavailable,
}
_BY_STATUS: dict[int, type[ApiError]] = {
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
    """The typed error for an error body's ``code`` and ``message``."""
    code_text = str(code) if code is not None else None
    cls = _BY_CODE.get(code_text or "") or _BY_STATUS.get(status or 0) or ApiError
    return cls(str(message or "error"), code_text, status, retry_after)


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
