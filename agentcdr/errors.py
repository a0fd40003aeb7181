"""One exception hierarchy: every error the API or the CLI reports.

Each class carries its API ``code`` (always a string on the wire) and HTTP status, so one
handler renders every failure the same way (see ``agentcdr.web.api``) and the CLI turns the
same exceptions into one line on stderr.
"""

from __future__ import annotations


class AgentCDRError(Exception):
    """Base of every error agentcdr reports to a user."""

    code = "10500"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingParameter(AgentCDRError):
    code = "40001"
    status = 400

    def __init__(self, name: str) -> None:
        super().__init__(f"Missing required parameter: {name}")
        self.parameter = name


class InvalidValue(AgentCDRError):
    code = "41004"
    status = 400

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"Invalid value for {name}: {detail}")
        self.parameter = name


class BadCredentials(AgentCDRError):
    code = "10000"
    status = 401

    def __init__(self) -> None:
        # The same text for an unknown user and a wrong password, on purpose.
        super().__init__("Invalid Username/Password")


class Forbidden(AgentCDRError):
    code = "10001"
    status = 403


class CommandNotFound(AgentCDRError):
    code = "10005"
    status = 404

    def __init__(self) -> None:
        super().__init__("Command Not Found")


class MethodNotAllowed(AgentCDRError):
    code = "10009"
    status = 405

    def __init__(self, method: str) -> None:
        super().__init__(f"Method not allowed: {method}; use GET or POST")


class TooManyRequests(AgentCDRError):
    code = "10429"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins; retry after {retry_after} seconds")
        self.retry_after = retry_after


class DatabaseUnavailable(AgentCDRError):
    code = "10007"
    status = 503

    def __init__(self, message: str = "The database cannot be reached; try again later") -> None:
        super().__init__(message)


class InternalError(AgentCDRError):
    code = "10500"
    status = 500

    def __init__(self, request_id: str) -> None:
        super().__init__(f"Internal error (request id {request_id})")
        self.request_id = request_id


class ConfigError(AgentCDRError):
    """A setting or a command-line value is wrong (CLI and start-up only)."""


class DataError(AgentCDRError):
    """A file being imported holds a bad value; names file, line and field."""

    def __init__(self, file: str, line: int, field: str, detail: str) -> None:
        super().__init__(f"{file}:{line}: field {field}: {detail}")
        self.file = file
        self.line = line
        self.field = field


class ReadOnlyStore(AgentCDRError):
    """A write was attempted on a read-only store (the VICIdial adapter)."""
