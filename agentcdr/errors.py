"""One exception hierarchy: every error agentcdr reports, on the wire or on the command line.

::

    AgentCDRError                 ``message``; ``retryable``: the same request may succeed later
    ├── ApiError                  an answer of the API: ``code`` (a string on the wire), ``status``
    │   ├── InvalidRequest        a 400: the request is wrong (the client's name for both)
    │   │   ├── MissingParameter  40001  400  a required parameter is missing
    │   │   ├── InvalidValue      41004  400  a parameter has an invalid value
    │   │   ├── BodyTooLarge      41013  413  the body is over the size limit (max_body_bytes)
    │   │   ├── UriTooLong        41014  414  the path and query are over 32 KiB
    │   │   └── HeadersTooLarge   41031  431  more than 64 header fields or 32 KiB of them
    │   ├── BadCredentials        10000  401  alias AuthError
    │   ├── Forbidden             10001  403  alias PermissionDenied
    │   ├── CommandNotFound       10005  404
    │   ├── MethodNotAllowed      10009  405
    │   ├── TooManyRequests       10429  429  alias RateLimited; retryable, ``retry_after``
    │   ├── DatabaseUnavailable   10007  503  alias ServerUnavailable; retryable
    │   └── InternalError         10500  500  anything unexpected; logged with its request id
    ├── ConfigError               a setting or a command-line value is wrong (no wire code)
    ├── DataError                 a file being imported holds a bad value
    ├── ReadOnlyStore             a write was attempted on a read-only store
    └── ClientError               what the client raises that is not the server's answer
                                  (``agentcdr.client.errors``)

``BY_CODE`` is the one code table: the server raises these classes and renders their code and
status (``agentcdr.web.api``), and the client parses an error body back into the same class
with ``from_wire``. The CLI prints any ``AgentCDRError`` as one line on stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Self, TypeVar


def shown(value: str, width: int = 40) -> str:
    """A value quoted for an error message, cut short when long: a message echoes what was
    sent, and a megabyte sent must not become a megabyte answered and logged."""
    return repr(value if len(value) <= width else value[:width] + "…")


class AgentCDRError(Exception):
    """Base of every error agentcdr reports to a user."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(AgentCDRError):
    """An error the API answers with: ``{"result": "error", "code": ..., "message": ...}``.

    On the server each subclass is raised with the arguments its message is made of; the
    client builds the same class from a body with ``from_wire``, where ``code`` is what the
    server said (an unknown code stays a plain ``ApiError``) and ``status`` the HTTP status.
    """

    code: str = "10500"
    status: int = 500
    retry_after: float | None = None  # seconds, from the server's Retry-After

    @classmethod
    def from_wire(
        cls,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
        *,
        code: str | None = None,
    ) -> Self:
        """The error as a client reads it: the server's finished message, not the arguments
        it was made from (so the subclass's own ``__init__`` is not run)."""
        error = cls.__new__(cls)
        AgentCDRError.__init__(error, message)
        if code is not None:
            error.code = code
        if status is not None:
            error.status = status
        error.retry_after = retry_after
        return error

    def __str__(self) -> str:
        return f"{self.message} (code {self.code})"


BY_CODE: Final[dict[str, type[ApiError]]] = {}
_E = TypeVar("_E", bound=type[ApiError])


def _wire(code: str, status: int) -> Callable[[_E], _E]:
    """Gives a class its code and status and enters it in ``BY_CODE``: one class a code."""

    def register(cls: _E) -> _E:
        if code in BY_CODE:
            raise TypeError(f"code {code} is already {BY_CODE[code].__name__}")
        cls.code, cls.status = code, status
        BY_CODE[code] = cls
        return cls

    return register


class InvalidRequest(ApiError):
    """``40001`` or ``41004``; a 400 without an API body (from a gateway) is this class."""

    code = "41004"
    status = 400
    parameter: str | None = None  # the parameter at fault (not known from the wire)


@_wire("40001", 400)
class MissingParameter(InvalidRequest):
    def __init__(self, name: str) -> None:
        super().__init__(f"Missing required parameter: {name}")
        self.parameter = name


@_wire("41004", 400)
class InvalidValue(InvalidRequest):
    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"Invalid value for {name}: {detail}")
        self.parameter = name


@_wire("41013", 413)
class BodyTooLarge(InvalidRequest):
    """The request body is larger than the ``max_body_bytes`` setting (told by its
    Content-Length, or found while reading it): refused before anything of it is parsed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body too large; the limit is {limit} bytes")
        self.parameter = "body"


@_wire("41014", 414)
class UriTooLong(InvalidRequest):
    """The request's path and query are longer than the server reads (``limit`` bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request URI too long; the limit is {limit} bytes")
        self.parameter = "uri"


@_wire("41031", 431)
class HeadersTooLarge(InvalidRequest):
    """More request headers, or more bytes of them, than the server reads."""

    def __init__(self, count: int, size: int) -> None:
        super().__init__(
            f"Request header fields too large; the limits are {count} fields and {size} bytes"
        )
        self.parameter = "headers"


@_wire("10000", 401)
class BadCredentials(ApiError):
    def __init__(self) -> None:
        # The same text for an unknown user and a wrong password, on purpose.
        super().__init__("Invalid Username/Password")


@_wire("10001", 403)
class Forbidden(ApiError):
    """A requested tenant is outside the user's scope, or the user may not use the report."""


@_wire("10005", 404)
class CommandNotFound(ApiError):
    def __init__(self) -> None:
        super().__init__("Command Not Found")


# The methods the endpoint serves (``Allow``: HEAD is a GET without its body, OPTIONS what a
# browser or a client may ask), and those that ask for a report (the 405's message).
SERVED_METHODS: Final = ("GET", "POST", "HEAD", "OPTIONS")
REPORT_METHODS: Final = ("GET", "POST")


@_wire("10009", 405)
class MethodNotAllowed(ApiError):
    def __init__(self, method: str) -> None:
        served = " or ".join(REPORT_METHODS)
        # A method is a token of any length: cut short, as every echoed value is.
        super().__init__(f"Method not allowed: {method[:20]}; use {served}")


@_wire("10429", 429)
class TooManyRequests(ApiError):
    """Failed logins (the default ``what``), or a user's requests or concurrent reports over
    a limit, or a worker's reports; ``retry_after`` in whole seconds."""

    retryable = True

    def __init__(self, retry_after: int, what: str = "failed logins") -> None:
        super().__init__(f"Too many {what}; retry after {retry_after} seconds")
        self.retry_after = retry_after


@_wire("10007", 503)
class DatabaseUnavailable(ApiError):
    """Also what a client makes of a gateway's 502, 503 or 504 page."""

    retryable = True

    def __init__(self, message: str = "The database cannot be reached; try again later") -> None:
        super().__init__(message)


@_wire("10500", 500)
class InternalError(ApiError):
    request_id: str | None = None

    def __init__(self, request_id: str) -> None:
        super().__init__(f"Internal error (request id {request_id})")
        self.request_id = request_id


# The names the client has always used for the same errors.
AuthError = BadCredentials
PermissionDenied = Forbidden
RateLimited = TooManyRequests
ServerUnavailable = DatabaseUnavailable


class ConfigError(AgentCDRError):
    """A setting or a command-line value is wrong (CLI and start-up only)."""


class DataError(AgentCDRError):
    """A file being imported holds a bad value; names file, line and field."""

    def __init__(self, file: str, line: int, field: str, detail: str) -> None:
        super().__init__(f"{file}:{line}: field {field}: {detail}")
        self.file = file
        self.line = line
        self.field = field
        self.detail = detail


class ReadOnlyStore(AgentCDRError):
    """A write was attempted on a read-only store (the VICIdial adapter)."""
