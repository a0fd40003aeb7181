"""One exception hierarchy: every error agentcdr reports, on the wire or on the command line.

::

    AgentCDRError                 ``message``; ``retryable``: the same request may succeed later
    ├── ApiError                  an answer of the API: ``code`` (a string on the wire), ``status``
    │   ├── InvalidRequest        a 400: the request is wrong (the client's name for both)
    │   │   ├── MissingParameter  40001  400  a required parameter is missing
    │   │   └── InvalidValue      41004  400  a parameter has an invalid value
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


@_wire("10009", 405)
class MethodNotAllowed(ApiError):
    def __init__(self, method: str) -> None:
        super().__init__(f"Method not allowed: {method}; use GET or POST")


@_wire("10429", 429)
class TooManyRequests(ApiError):
    retryable = True

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins; retry after {retry_after} seconds")
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
