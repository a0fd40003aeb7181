"""agentcdr: the agent_cdr call-center reporting API, its stores and its tools."""

from __future__ import annotations

from agentcdr.client import (
    ApiError,
    AsyncClient,
    AuthError,
    CdrRow,
    Client,
    ClientError,
    IncompleteResponse,
    InvalidArgument,
    InvalidRequest,
    MalformedResponse,
    NetworkError,
    PermissionDenied,
    RateLimited,
    ServerUnavailable,
)
from agentcdr.errors import AgentCDRError
from agentcdr.records import CallRecord, ReportRequest

__version__ = "0.1.0"

__all__ = [
    "AgentCDRError",
    "ApiError",
    "AsyncClient",
    "AuthError",
    "CallRecord",
    "CdrRow",
    "Client",
    "ClientError",
    "IncompleteResponse",
    "InvalidArgument",
    "InvalidRequest",
    "MalformedResponse",
    "NetworkError",
    "PermissionDenied",
    "RateLimited",
    "ReportRequest",
    "ServerUnavailable",
    "__version__",
]
